/**
 * Workflow runs in traces: the telemetry plugin's `invoke_workflow` span over the run, each agent
 * step's `invoke_agent` (named after the hub agent) under its enclosing workflow, a nested
 * workflow as a child `invoke_workflow`, errors with their status. Spans go to the SDK's
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
import { agent, chain, defineWorkflow, step } from '../../../plugins/orchestrate/index.js'
import telemetry from '../../../plugins/telemetry/index.js'
import { harness } from './helpers.js'

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
afterEach(() => exporter.reset())

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId
const byName = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name)

describe('workflow spans', () => {
  const inner = defineWorkflow({ name: 'inner', input: z.string(), run: agent({ agent: 'critic' }) })
  const outer = defineWorkflow({
    name: 'outer',
    input: z.string(),
    run: chain([agent({ agent: 'writer' }), inner]),
  })

  it('invoke_workflow over the run, agent steps and nested workflows under it, chat under each agent', async () => {
    const h = await harness({
      turns: [{ text: 'SECRET DRAFT' }, { text: 'ok' }],
      extraPlugins: [telemetry],
      config: { telemetry: { enabled: true } },
    })
    const { outcome } = await h.run(outer, 'SECRET INPUT')
    expect(outcome.isError).toBe(false)
    const spans = exporter.getFinishedSpans()
    const [root] = byName(spans, 'invoke_workflow outer')
    expect(root).toBeDefined()
    expect(parentOf(root!)).toBeUndefined()
    expect(root!.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'gen_ai.agent.name': 'outer',
      'tau.workflow.run_id': outcome.runId,
    })
    const [writer] = byName(spans, 'invoke_agent writer')
    expect(parentOf(writer!)).toBe(root!.spanContext().spanId)
    const [nested] = byName(spans, 'invoke_workflow inner')
    expect(parentOf(nested!)).toBe(root!.spanContext().spanId)
    const [critic] = byName(spans, 'invoke_agent critic')
    expect(parentOf(critic!)).toBe(nested!.spanContext().spanId)
    const chats = spans.filter((s) => s.name.startsWith('chat '))
    expect(chats.map((c) => parentOf(c)).sort()).toEqual(
      [writer!.spanContext().spanId, critic!.spanContext().spanId].sort(),
    )
    // No contents by default.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('SECRET')
  })

  it('a failed workflow ends its span with an error status and the code', async () => {
    const failing = defineWorkflow({
      name: 'failing',
      input: z.string(),
      run: step('boom', () => {
        throw new Error('no')
      }),
    })
    const h = await harness({ extraPlugins: [telemetry], config: { telemetry: { enabled: true } } })
    await h.run(failing, 'x')
    const [root] = byName(exporter.getFinishedSpans(), 'invoke_workflow failing')
    expect(root!.status.code).toBe(SpanStatusCode.ERROR)
    expect(root!.attributes['error.type']).toBe('TAU_WORKFLOW_STEP_FAILED')
  })
})
