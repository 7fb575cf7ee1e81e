/**
 * Traces over OTLP/HTTP from the real binary: `tau start -p` with OTEL_EXPORTER_OTLP_ENDPOINT set
 * sends its spans to a loopback receiver (a plain HTTP server reading the OTLP JSON body), and
 * with no endpoint it sends nothing and loads no SDK. `tau workflow run` sends one trace of the
 * workflow (invoke_workflow, its agent step's invoke_agent, that run's chat and execute_tool
 * spans), with prompts and answers only when content capture is turned on.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { useProjects } from './run-tau.js'

interface OtlpSpan {
  name: string
  traceId: string
  spanId: string
  parentSpanId?: string
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>
  /** 1 internal, 3 client (OTLP's SpanKind numbering: the span's own kind plus one). */
  kind?: number
}

const received: Array<{ path: string; contentType: string; body: unknown }> = []
const server = createServer(async (req: IncomingMessage, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  received.push({
    path: req.url ?? '',
    contentType: req.headers['content-type'] ?? '',
    body: JSON.parse(text),
  })
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const project = useProjects()
// JSON configs: their form is not under test (a tau.config.ts costs each boot a transpile).
const CONFIG = JSON.stringify({
  model: 'scripted:traced',
  providers: {
    scripted: {
      turns: [
        { toolCalls: [{ id: 'call_read', name: 'Read', input: { file_path: 'notes.txt' } }] },
        { text: 'The notes say hello.' },
      ],
    },
  },
})

function spansOf(bodies: readonly unknown[]): OtlpSpan[] {
  const out: OtlpSpan[] = []
  for (const body of bodies as Array<{
    resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>
  }>) {
    for (const rs of body.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? []) out.push(...(ss.spans ?? []))
  }
  return out
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue))
}

describe('telemetry over OTLP/HTTP', () => {
  it('exports the run, its model calls and its tool call as one trace when an endpoint is set', async () => {
    const p = await project({ 'tau.config.json': CONFIG, 'notes.txt': 'hello\n' })
    const result = await p.run(['start', '-p', 'what do the notes say?'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tau-e2e' },
    })
    expect(result.stderr).not.toMatch(/telemetry|opentelemetry/i)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('The notes say hello.')
    // The batch is flushed when tau stops, before the process exits.
    expect(received.length).toBeGreaterThan(0)
    expect(received.every((r) => r.path === '/v1/traces' && r.contentType.includes('json'))).toBe(true)
    const service = JSON.stringify(received[0]!.body)
    expect(service).toContain('tau-e2e')

    const spans = spansOf(received.map((r) => r.body))
    const run = spans.find((s) => s.name === 'invoke_agent tau')
    const chats = spans.filter((s) => s.name === 'chat traced')
    const tool = spans.find((s) => s.name === 'execute_tool Read')
    expect(run).toBeDefined()
    expect(chats).toHaveLength(2)
    expect(tool).toBeDefined()
    for (const child of [...chats, tool!]) {
      expect(child.parentSpanId).toBe(run!.spanId)
      expect(child.traceId).toBe(run!.traceId)
    }
    expect(attr(tool!, 'gen_ai.tool.call.id')).toBe('call_read')
    expect(attr(chats[0]!, 'gen_ai.provider.name')).toBe('scripted')
    // No contents by default: neither the prompt, nor the file's text, nor the answer.
    const all = JSON.stringify(spans)
    expect(all).not.toContain('what do the notes say')
    expect(all).not.toContain('The notes say hello')
  })

  it('sends nothing without an endpoint', async () => {
    const before = received.length
    const p = await project({ 'tau.config.json': CONFIG, 'notes.txt': 'hello\n' })
    const result = await p.run(['start', '-p', 'what do the notes say?'])
    expect(result.code, result.stderr).toBe(0)
    expect(received.length).toBe(before)
  })
})

const WORKFLOW_CONFIG = JSON.stringify({
  model: 'scripted:traced',
  providers: {
    scripted: {
      turns: [
        { toolCalls: [{ id: 'call_wf_read', name: 'Read', input: { file_path: 'notes.txt' } }] },
        { text: 'The notes say hello.' },
      ],
    },
  },
  orchestrate: {
    agents: { reader: { description: 'Reads', prompt: 'You read files.', tools: ['Read'] } },
  },
})
const NOTES_WORKFLOW = `import { z } from 'zod'
import { agent, chain, defineWorkflow, step } from 'tau'

export default defineWorkflow({
  name: 'notes',
  input: z.object({ file: z.string() }),
  run: chain([
    agent({ agent: 'reader', name: 'read', prompt: (i: { file: string }) => 'SUMMARISE the file ' + i.file }),
    step('shout', (text: string) => text.toUpperCase()),
  ]),
})
`

describe('workflow traces over OTLP/HTTP', () => {
  async function traced(env: Record<string, string> = {}) {
    const before = received.length
    const p = await project({
      'tau.config.json': WORKFLOW_CONFIG,
      '.tau/workflows/notes.ts': NOTES_WORKFLOW,
      'notes.txt': 'hello\n',
    })
    const result = await p.run(['workflow', 'run', 'notes', '--input', '{"file":"notes.txt"}'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tau-workflow-e2e', ...env },
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('THE NOTES SAY HELLO.')
    const bodies = received.slice(before)
    expect(bodies.length).toBeGreaterThan(0)
    expect(JSON.stringify(bodies[0]!.body)).toContain('tau-workflow-e2e')
    return spansOf(bodies.map((r) => r.body))
  }

  it('tau workflow run exports invoke_workflow > invoke_agent > chat and execute_tool, without contents', async () => {
    const spans = await traced()
    const workflow = spans.find((s) => s.name === 'invoke_workflow notes')
    const run = spans.find((s) => s.name === 'invoke_agent reader')
    const chats = spans.filter((s) => s.name === 'chat traced')
    const tool = spans.find((s) => s.name === 'execute_tool Read')
    expect(workflow).toBeDefined()
    expect(run).toBeDefined()
    expect(chats).toHaveLength(2)
    expect(tool).toBeDefined()
    // One trace: the workflow is the root, the agent step's run its child, the run's calls below it.
    expect(workflow!.parentSpanId ?? '').toBe('')
    expect(run!.parentSpanId).toBe(workflow!.spanId)
    for (const child of [...chats, tool!]) expect(child.parentSpanId).toBe(run!.spanId)
    for (const span of [run!, ...chats, tool!]) expect(span.traceId).toBe(workflow!.traceId)

    expect(attr(workflow!, 'gen_ai.operation.name')).toBe('invoke_workflow')
    expect(attr(workflow!, 'gen_ai.agent.name')).toBe('notes')
    expect(String(attr(workflow!, 'tau.workflow.run_id'))).toMatch(/\S/)
    expect(attr(run!, 'gen_ai.operation.name')).toBe('invoke_agent')
    expect(attr(run!, 'gen_ai.agent.name')).toBe('reader')
    expect(String(attr(run!, 'gen_ai.conversation.id'))).toMatch(/\S/)
    for (const chat of chats) {
      expect(attr(chat, 'gen_ai.operation.name')).toBe('chat')
      expect(attr(chat, 'gen_ai.provider.name')).toBe('scripted')
      expect(attr(chat, 'gen_ai.request.model')).toBe('traced')
      expect(chat.kind).toBe(3)
    }
    expect(attr(tool!, 'gen_ai.operation.name')).toBe('execute_tool')
    expect(attr(tool!, 'gen_ai.tool.name')).toBe('Read')
    expect(attr(tool!, 'gen_ai.tool.call.id')).toBe('call_wf_read')
    const all = JSON.stringify(spans)
    expect(all).not.toContain('SUMMARISE the file')
    expect(all).not.toContain('The notes say hello')
    expect(all).not.toContain('gen_ai.input.messages')
  })

  it('with content capture on, the prompt, the tool result and the answer are on the spans', async () => {
    const spans = await traced({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' })
    const chats = spans.filter((s) => s.name === 'chat traced')
    expect(chats).toHaveLength(2)
    for (const chat of chats)
      expect(String(attr(chat, 'gen_ai.input.messages'))).toContain('SUMMARISE the file notes.txt')
    expect(
      chats.some((chat) => String(attr(chat, 'gen_ai.output.messages')).includes('The notes say hello.')),
    ).toBe(true)
    const tool = spans.find((s) => s.name === 'execute_tool Read')
    expect(String(attr(tool!, 'gen_ai.tool.call.result'))).toContain('hello')
  })
})
