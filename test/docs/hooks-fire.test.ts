/**
 * Every hook docs/hooks.md lists fires, with a payload of the documented shape: one kernel of the
 * coding preset with the in-process scripted model, a plugin that taps every declared hook, and
 * scenarios that reach each one (tool calls with a permission ask and a failing tool, a failed
 * model call, a notification, an on-demand compaction, a subagent, a workflow, session end,
 * kernel stop). The list comes from the doc itself, so a hook added to it (test/docs/reference
 * keeps the doc in step with the code) without a scenario here fails this test.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePlugin, type HooksRef, kernelHooksRef } from '../../kernel/index.js'
import { agentHooksRef, agentRuntimeRef, type PermissionRequest } from '../../plugins/agent/index.js'
import {
  agent as agentStep,
  defineWorkflow,
  orchestrateHooksRef,
  orchestratorRef,
} from '../../plugins/orchestrate/index.js'
import { sessionServiceRef } from '../../plugins/session/index.js'
import { subagentHooksRef } from '../../plugins/subagents/index.js'
import { defineTool, toolRegistryRef } from '../../plugins/tools/index.js'
import { createTestKernel, scriptedProviderRef } from '../../sdk/testing.js'

/** The hooks docs/hooks.md lists, read as test/docs/reference.test.ts reads them. */
const documented = [
  ...readFileSync(fileURLToPath(new URL('../../docs/hooks.md', import.meta.url)), 'utf8').matchAll(
    /^\| `([a-z-]+\.[A-Za-z]+)` \| (\w+) \|/gm,
  ),
].map((m) => m[1]!)

/**
 * Hooks that cannot fire in this in-process scenario, each with the reason. Keep it empty unless
 * nothing real can reach a hook here.
 */
const cannotFireHere: Record<string, string> = {}

/** The hook sets to tap, by the id listHooks() names them with. */
const refs: Record<string, HooksRef<object>> = {
  kernel: kernelHooksRef,
  agent: agentHooksRef,
  subagents: subagentHooksRef,
  orchestrate: orchestrateHooksRef,
}

const broken = defineTool({
  name: 'Broken',
  description: 'Always throws',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: async () => {
    throw new Error('broken on purpose')
  },
})

type Tappable = { tap(name: string, fn: (arg: unknown) => undefined): void }

describe('docs/hooks.md', () => {
  it('every hook it lists fires in the coding preset, with its documented payload', async () => {
    expect(documented.length).toBeGreaterThan(20)
    const calls = new Map<string, Array<Record<string, unknown>>>()
    const seen = (name: string, arg: unknown) => {
      const list = calls.get(name) ?? []
      list.push(arg as Record<string, unknown>)
      calls.set(name, list)
    }
    const tapped: string[] = []
    const tapAll = definePlugin({
      name: 'tap-all',
      dependsOn: ['agent', 'subagents', 'tools'],
      optionalDependsOn: ['orchestrate'],
      // kernel.configure runs before setup: a plugin takes part through this field, not a tap.
      configure(config) {
        seen('kernel.configure', config)
        return undefined
      },
      setup(ctx) {
        // The built-in tools answer their failures as error results; a tool that throws is a
        // plugin's, like this one, and is what postToolUseFailure reports.
        ctx.resolve(toolRegistryRef).register(broken, 'tap-all')
        for (const [id, ref] of Object.entries(refs)) {
          const view = ctx.hooksOf(ref) as Record<string, Tappable>
          for (const [name, hook] of Object.entries(view)) {
            tapped.push(`${id}.${name}`)
            // Returns nothing: notify hooks ignore it, waterfalls keep their value, bail hooks pass.
            hook.tap('tap-all', (arg) => {
              seen(`${id}.${name}`, arg)
              return undefined
            })
          }
        }
      },
    })

    const kernel = await createTestKernel({
      preset: 'coding',
      plugins: [tapAll],
      config: {
        model: 'scripted:test',
        providers: { scripted: { turns: [] } },
        session: { durability: 'off' },
        orchestrate: {
          agents: { writer: { description: 'Writes', prompt: 'WRITER', model: 'scripted:w', tools: [] } },
        },
      },
    })
    let stopped = false
    try {
      // Every hook set the kernel declares is one this test knows how to tap.
      const declared = kernel.listHooks().map((hook) => hook.name)
      expect(declared.filter((name) => !(name.split('.')[0]! in refs))).toEqual([])
      expect(documented.filter((name) => !tapped.includes(name) && name !== 'kernel.configure')).toEqual([])

      const scripted = kernel.resolve(scriptedProviderRef)
      const runtime = kernel.resolve(agentRuntimeRef)
      const asked: PermissionRequest[] = []
      const session = runtime.createSession({
        scope: kernel.createSession({ cwd: kernel.paths.cwd }),
        askPermission: async (request) => {
          asked.push(request)
          return 'allow'
        },
      })
      const drain = async (events: AsyncIterable<unknown>) => {
        for await (const _ of events);
      }

      // A run with a tool call the user is asked about (Write), one that throws (Broken), a
      // subagent (Task), then the answer.
      scripted.push(
        { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'a.txt', content: 'hi\n' } }] },
        { toolCalls: [{ id: 'b1', name: 'Broken', input: {} }] },
        {
          toolCalls: [
            {
              id: 't1',
              name: 'Task',
              input: { description: 'a task', prompt: 'do it', subagent_type: 'general-purpose' },
            },
          ],
        },
        { text: 'child report' },
        { text: 'done' },
      )
      await drain(session.run('go'))
      expect(asked.map((request) => request.toolName)).toContain('Write')

      // A failed model call (a refusal the provider does not retry).
      scripted.push({ status: 400, errorMessage: 'bad request' })
      await drain(session.run('fail'))

      // A notification, and a compaction on demand (the model writes the summary).
      await session.notify('warn', 'heads up')
      scripted.push({ text: 'Summary.' })
      await kernel.resolve(sessionServiceRef).compact(session.id)

      // A workflow with one agent step.
      scripted.push({ text: 'written' })
      const flow = defineWorkflow({ name: 'flow', input: z.string(), run: agentStep({ agent: 'writer' }) })
      const run = await kernel.resolve(orchestratorRef).run(flow, 'topic')
      for await (const _ of run);
      await run.done

      await session.close()
      await kernel.stop()
      stopped = true
    } finally {
      if (!stopped) await kernel.stop()
    }

    const missing = documented.filter((name) => !calls.has(name) && !(name in cannotFireHere))
    expect(missing, 'documented hooks that never fired').toEqual([])
    for (const name of Object.keys(cannotFireHere)) expect(documented).toContain(name)

    const first = (name: string) => calls.get(name)![0]!
    const any = (name: string, match: (arg: Record<string, unknown>) => boolean) =>
      calls.get(name)!.find(match)
    expect(first('kernel.configure')).toMatchObject({ model: 'scripted:test' })
    for (const hook of ['kernel.start', 'kernel.ready'])
      expect(first(hook)).toMatchObject({ plugins: expect.arrayContaining(['agent', 'tap-all']) })
    expect(first('kernel.start').signal).toBeInstanceOf(AbortSignal)
    expect(first('kernel.stop')).toMatchObject({ plugins: expect.arrayContaining(['agent']), reason: 'stop' })

    const id = expect.any(String)
    expect(first('agent.event')).toMatchObject({
      type: expect.any(String),
      seq: expect.any(Number),
      eventId: id,
      runId: id,
    })
    expect(first('agent.runStart')).toMatchObject({
      sessionId: id,
      runId: id,
      prompt: 'go',
      model: expect.anything(),
    })
    expect(first('agent.runEnd')).toMatchObject({
      sessionId: id,
      runId: id,
      stopReason: 'end-turn',
      isError: false,
    })
    expect(first('agent.runEnd')).toHaveProperty('turns')
    expect(first('agent.runEnd')).toHaveProperty('usage')
    expect(first('agent.runEnd')).toHaveProperty('durationMs')
    expect(first('agent.modelCallFailed')).toMatchObject({
      sessionId: id,
      runId: id,
      turn: expect.any(Number),
      error: { code: expect.any(String), message: expect.any(String) },
      aborted: false,
    })
    expect(first('agent.record')).toMatchObject({ sessionId: id, runId: id, entries: expect.any(Array) })
    expect(first('agent.sessionStart')).toMatchObject({ sessionId: id, cwd: id, source: 'startup' })
    expect(first('agent.userPromptSubmit')).toMatchObject({ sessionId: id, prompt: 'go' })
    expect(first('agent.systemPrompt')).toMatchObject({ sessionId: id, cwd: id, sections: expect.any(Array) })
    expect(first('agent.beforeModelCall')).toMatchObject({
      sessionId: id,
      turn: expect.any(Number),
      request: expect.anything(),
    })
    expect(first('agent.afterModelCall')).toMatchObject({
      sessionId: id,
      request: expect.anything(),
      response: expect.anything(),
    })
    expect(any('agent.preToolUse', (c) => c.toolCallId === 'w1')).toMatchObject({
      sessionId: id,
      toolName: 'Write',
      input: { file_path: 'a.txt' },
    })
    expect(any('agent.postToolUse', (c) => c.toolCallId === 'w1')).toMatchObject({
      toolName: 'Write',
      output: expect.anything(),
    })
    expect(any('agent.postToolUseFailure', (c) => c.toolCallId === 'b1')).toMatchObject({
      toolName: 'Broken',
      error: expect.stringContaining('broken on purpose'),
    })
    expect(first('agent.stop')).toMatchObject({
      sessionId: id,
      stopReason: expect.any(String),
      text: expect.any(String),
      continued: false,
    })
    expect(first('agent.preCompact')).toMatchObject({
      sessionId: session_(calls),
      trigger: 'manual',
      instructions: expect.any(Array),
    })
    expect(first('agent.compact')).toMatchObject({ sessionId: id, reason: 'threshold' })
    expect(first('agent.compact').signal).toBeInstanceOf(AbortSignal)
    expect(first('agent.messageAppended')).toMatchObject({
      sessionId: id,
      message: { role: expect.any(String) },
      index: expect.any(Number),
    })
    expect(any('agent.sessionEnd', (c) => c.sessionId === session_(calls))).toMatchObject({
      reason: expect.any(String),
    })
    expect(first('agent.notification')).toMatchObject({ sessionId: id, level: 'warn', message: 'heads up' })

    expect(first('subagents.subagentStart')).toMatchObject({
      sessionId: session_(calls),
      toolCallId: 't1',
      agentSessionId: id,
      agentType: 'general-purpose',
      description: 'a task',
      prompt: 'do it',
    })
    expect(first('subagents.subagentStop')).toMatchObject({
      sessionId: session_(calls),
      toolCallId: 't1',
      agentType: 'general-purpose',
      isError: false,
      text: 'child report',
    })

    expect(first('orchestrate.workflowStart')).toMatchObject({
      runId: id,
      workflow: 'flow',
      input: 'topic',
      resumed: false,
    })
    expect(first('orchestrate.workflowEnd')).toMatchObject({ runId: id, workflow: 'flow', isError: false })
    expect(first('orchestrate.stepStart')).toMatchObject({ runId: id, step: id, kind: expect.any(String) })
    expect(first('orchestrate.stepEnd')).toMatchObject({
      runId: id,
      step: id,
      isError: false,
      replayed: false,
    })
    expect(first('orchestrate.stepSession')).toMatchObject({
      runId: id,
      step: id,
      sessionId: id,
      agent: 'writer',
    })
  })
})

/** The top session's id: the session of the first run. */
function session_(calls: Map<string, Array<Record<string, unknown>>>): string {
  return calls.get('agent.runStart')![0]!.sessionId as string
}
