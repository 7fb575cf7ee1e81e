/**
 * The telemetry plugin through the real agent loop and the in-process scripted model: the span
 * tree of a run (invoke_agent > chat, execute_tool), a subagent's run under its parent's Task
 * call, errors with their status, and no contents unless asked for. Spans go to the SDK's
 * in-memory exporter, registered as the global tracer provider as an embedding program would.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api'
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { TauConfig } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted, { type ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import subagents from '../../../plugins/subagents/index.js'
import telemetry from '../../../plugins/telemetry/index.js'
import { defineTool } from '../../../plugins/tools/index.js'
import { collect, resultOf, tempDir, toolsPlugin } from '../agent/helpers.js'

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
// The global provider can be set once per process, and unit files share their worker (isolate:
// false): this file's provider replaces any other file's, and is removed when the file ends.
trace.disable()
trace.setGlobalTracerProvider(provider)
afterAll(async () => {
  trace.disable()
  await provider.shutdown()
})

const echo = defineTool({
  name: 'Echo',
  description: 'Echoes text',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: true },
  execute: async ({ text }) => `echo ${text} SECRET-RESULT`,
})
const broken = defineTool({
  name: 'Broken',
  description: 'Always fails',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: async () => {
    throw new Error('the disk is on fire')
  },
})

const kernels: TestKernel[] = []
const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  exporter.reset()
  await Promise.all(kernels.splice(0).map((kernel) => kernel.stop()))
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
})

async function run(turns: ScriptTurn[], config: TauConfig = {}) {
  const cwd = await tempDir('tau-telemetry-cwd-')
  const home = await tempDir('tau-telemetry-home-')
  dirs.push(cwd, home)
  const kernel = await createTestKernel({
    plugins: [
      providers,
      providerScripted,
      toolsPlugin([echo, broken]),
      agent,
      permissions,
      subagents,
      telemetry,
    ],
    config: {
      model: 'scripted:test',
      providers: { scripted: { turns } },
      permissions: { allow: ['Echo', 'Broken', 'Task'] },
      subagents: { agents: { reader: { description: 'Reads', tools: ['Echo'], prompt: 'READER' } } },
      ...config,
      telemetry: { enabled: true, ...(config.telemetry as object | undefined) },
    },
    cwd: cwd.dir,
    tauHome: home.dir,
  })
  kernels.push(kernel)
  const session = kernel
    .resolve(agentRuntimeRef)
    .createSession({ scope: kernel.createSession({ cwd: cwd.dir }) })
  const events = await collect(session.run('PROMPT-TEXT'))
  await session.close()
  return { events, spans: exporter.getFinishedSpans(), sessionId: session.id }
}

const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe('telemetry spans', () => {
  it('makes invoke_agent > chat and execute_tool spans with the GenAI attributes', async () => {
    const { spans, sessionId, events } = await run([
      {
        toolCalls: [{ id: 'call_1', name: 'Echo', input: { text: 'hi' } }],
        usage: { inputTokens: 100, outputTokens: 7, cacheReadTokens: 60 },
      },
      { text: 'done', usage: { inputTokens: 120, outputTokens: 3 } },
    ])
    expect(resultOf(events).isError).toBe(false)
    const [agentSpan] = named(spans, 'invoke_agent tau')
    expect(agentSpan).toBeDefined()
    expect(agentSpan!.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'tau',
      'gen_ai.conversation.id': sessionId,
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'test',
      'gen_ai.usage.input_tokens': 220,
      'gen_ai.usage.output_tokens': 10,
      'tau.stop_reason': 'end-turn',
    })
    expect(parentOf(agentSpan!)).toBeUndefined()

    const chats = named(spans, 'chat test')
    expect(chats).toHaveLength(2)
    for (const chat of chats) {
      expect(parentOf(chat)).toBe(agentSpan!.spanContext().spanId)
      expect(chat.spanContext().traceId).toBe(agentSpan!.spanContext().traceId)
    }
    expect(chats[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'test',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 7,
      'gen_ai.usage.cache_read.input_tokens': 60,
      'gen_ai.response.finish_reasons': ['tool_call'],
    })
    expect(chats[1]!.attributes['gen_ai.response.finish_reasons']).toEqual(['stop'])
    // Each call's time to first token, as the agent measured it.
    const answers = events.filter((e) => e.type === 'assistant-message')
    expect(answers).toHaveLength(2)
    for (const [i, chat] of chats.entries()) {
      const measured = (answers[i] as { firstTokenMs?: number }).firstTokenMs
      expect(typeof measured).toBe('number')
      expect(chat.attributes['tau.time_to_first_token_ms']).toBe(measured)
    }

    const [tool] = named(spans, 'execute_tool Echo')
    expect(tool!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'Echo',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.type': 'function',
    })
    expect(parentOf(tool!)).toBe(agentSpan!.spanContext().spanId)
    expect(tool!.status.code).not.toBe(SpanStatusCode.ERROR)
  })

  it('puts no prompt, answer, tool argument or result in any span by default', async () => {
    const { spans } = await run([
      { toolCalls: [{ id: 'call_1', name: 'Echo', input: { text: 'ARGUMENT-TEXT' } }] },
      { text: 'ANSWER-TEXT' },
    ])
    expect(spans.length).toBeGreaterThanOrEqual(4)
    const everything = JSON.stringify(spans.map((s) => ({ a: s.attributes, st: s.status, e: s.events })))
    for (const secret of ['PROMPT-TEXT', 'ARGUMENT-TEXT', 'ANSWER-TEXT', 'SECRET-RESULT']) {
      expect(everything).not.toContain(secret)
    }
  })

  it('records contents when captureContent is on', async () => {
    const { spans } = await run(
      [
        { toolCalls: [{ id: 'call_1', name: 'Echo', input: { text: 'ARGUMENT-TEXT' } }] },
        { text: 'ANSWER-TEXT' },
      ],
      { telemetry: { captureContent: true } },
    )
    const [tool] = named(spans, 'execute_tool Echo')
    expect(tool!.attributes['gen_ai.tool.call.arguments']).toBe('{"text":"ARGUMENT-TEXT"}')
    expect(tool!.attributes['gen_ai.tool.call.result']).toContain('SECRET-RESULT')
    const chats = named(spans, 'chat test')
    expect(String(chats[0]!.attributes['gen_ai.input.messages'])).toContain('PROMPT-TEXT')
    expect(String(chats[1]!.attributes['gen_ai.output.messages'])).toContain('ANSWER-TEXT')
  })

  it("nests a subagent's run under its parent's Task call", async () => {
    const { spans } = await run([
      {
        toolCalls: [
          {
            id: 'task_1',
            name: 'Task',
            input: { description: 'a task', prompt: 'go', subagent_type: 'reader' },
          },
        ],
      },
      { toolCalls: [{ id: 'child_1', name: 'Echo', input: { text: 'x' } }] },
      { text: 'child report' },
      { text: 'parent done' },
    ])
    const [parentRun] = named(spans, 'invoke_agent tau')
    const [taskSpan] = named(spans, 'execute_tool Task')
    const [childRun] = named(spans, 'invoke_agent reader')
    const [childTool] = named(spans, 'execute_tool Echo')
    expect(parentOf(taskSpan!)).toBe(parentRun!.spanContext().spanId)
    expect(parentOf(childRun!)).toBe(taskSpan!.spanContext().spanId)
    expect(parentOf(childTool!)).toBe(childRun!.spanContext().spanId)
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1)
    // The child's model calls are children of the child's run.
    const childChats = named(spans, 'chat test').filter((s) => parentOf(s) === childRun!.spanContext().spanId)
    expect(childChats).toHaveLength(2)
  })

  it('marks a failed tool and a failed model call as errors, and ends every span', async () => {
    const { spans, events } = await run([
      { toolCalls: [{ id: 'call_b', name: 'Broken', input: {} }] },
      { status: 400, errorMessage: 'bad request from the server' },
    ])
    expect(resultOf(events).isError).toBe(true)
    const [tool] = named(spans, 'execute_tool Broken')
    expect(tool!.status.code).toBe(SpanStatusCode.ERROR)
    expect(tool!.attributes['error.type']).toBe('tool_error')
    const chats = named(spans, 'chat test')
    expect(chats).toHaveLength(2)
    expect(chats[1]!.status.code).toBe(SpanStatusCode.ERROR)
    expect(chats[1]!.attributes['error.type']).toEqual(expect.any(String))
    const [agentSpan] = named(spans, 'invoke_agent tau')
    expect(agentSpan!.status.code).toBe(SpanStatusCode.ERROR)
    expect(agentSpan!.attributes['tau.stop_reason']).toBe('error')
    // Every span started was ended (the exporter only sees ended spans): 1 run, 2 chats, 1 tool.
    expect(spans).toHaveLength(4)
  })

  it('is off without an OTLP endpoint when enabled is auto', async () => {
    const { spans } = await run([{ text: 'hi' }], { telemetry: { enabled: 'auto' } })
    expect(spans).toHaveLength(0)
  })
})
