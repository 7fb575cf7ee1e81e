/**
 * Claude Code compatibility, `--include-partial-messages` and the result's timing and limits,
 * with the real binary against scripted Anthropic, OpenAI and Ollama servers on loopback (the
 * real wires): every provider's stream comes out as the Anthropic Messages API's stream events,
 * with the block indexes of the final message; each model call's time to first token;
 * modelUsage's contextWindow and maxOutputTokens from the configured capabilities.
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

type Format = 'anthropic' | 'openai' | 'ollama'

async function run(format: Format, turns: ScriptTurn[], extra: readonly string[] = []) {
  const p = await project()
  const server = await startScriptedServer({ format, script: turns })
  servers.push(server)
  const model = `${format}:scripted-model`
  const provider =
    format === 'anthropic'
      ? { anthropic: { baseURL: server.url } }
      : format === 'openai'
        ? { openai: { baseURL: `${server.url}/v1` } }
        : { ollama: { host: server.url } }
  // JSON, not tau.config.ts: the config's form is not under test (jiti costs ~0.45 s of CPU).
  await p.write({
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model,
      providers: {
        ...provider,
        capabilities: { [model]: { contextWindow: 123456, maxOutputTokens: 4321 } },
      },
    }),
  })
  const result = await p.run(
    [
      'start',
      '-p',
      'go',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      ...extra,
    ],
    { env: { ANTHROPIC_API_KEY: 'sk-ant-test', OPENAI_API_KEY: 'sk-test' } },
  )
  expect(result.code, result.stderr).toBe(0)
  return { out: lines(result.stdout), model }
}

/** The stream events of the run's own session, in order. */
const events = (out: readonly Line[]): Array<Record<string, unknown> & { type: string }> =>
  out
    .filter((l) => l.type === 'stream_event' && l.parent_tool_use_id === null)
    .map((l) => l.event as Record<string, unknown> & { type: string })

/** What a consumer of Anthropic's stream rebuilds from the events: each message's blocks by index. */
function rebuild(stream: ReadonlyArray<Record<string, unknown> & { type: string }>) {
  const messages: Array<{ id: string; blocks: Array<Record<string, unknown>>; stop: unknown }> = []
  let open: Set<number> = new Set()
  for (const event of stream) {
    const index = event.index as number
    const current = messages.at(-1)
    switch (event.type) {
      case 'message_start':
        messages.push({ id: (event.message as { id: string }).id, blocks: [], stop: undefined })
        open = new Set()
        break
      case 'content_block_start':
        // Indexes count up from 0 in each message, one block each.
        expect(index).toBe(current!.blocks.length)
        current!.blocks.push({ ...(event.content_block as object) })
        open.add(index)
        break
      case 'content_block_delta': {
        expect(open.has(index), `delta for block ${index}, which is not open`).toBe(true)
        const block = current!.blocks[index]!
        const delta = event.delta as Record<string, string>
        if (delta.type === 'text_delta') block.text = `${block.text as string}${delta.text}`
        else if (delta.type === 'thinking_delta')
          block.thinking = `${block.thinking as string}${delta.thinking}`
        else if (delta.type === 'input_json_delta')
          block.json = `${(block.json as string) ?? ''}${delta.partial_json}`
        break
      }
      case 'content_block_stop':
        expect(open.delete(index), `stop for block ${index}, which is not open`).toBe(true)
        break
      case 'message_delta':
        expect(open.size, 'every block stopped before message_delta').toBe(0)
        current!.stop = (event.delta as { stop_reason: unknown }).stop_reason
        break
      case 'message_stop':
        break
      default:
        throw new Error(`unexpected stream event ${event.type}`)
    }
  }
  return messages
}

describe('--include-partial-messages, as the Claude Agent SDK streams', () => {
  // Ollama sends a tool call whole: its block gets the input as one input_json_delta.
  for (const format of ['anthropic', 'openai', 'ollama'] as const) {
    it(`${format}: text and a tool call in one message are blocks 0 and 1; every message starts and stops; ids match the assistant lines`, async () => {
      const { out } = await run(format, [
        {
          text: 'Let me look.',
          toolCalls: [{ id: 'g1', name: 'Glob', input: { pattern: '*.md' } }],
          usage: { inputTokens: 50, outputTokens: 7 },
        },
        { text: 'Nothing there.', usage: { inputTokens: 60, outputTokens: 3 } },
      ])
      const stream = events(out)
      expect(stream[0]!.type).toBe('message_start')
      const messages = rebuild(stream)
      expect(messages).toHaveLength(2)
      expect(messages[0]!.blocks).toEqual([
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'g1', name: 'Glob', input: {}, json: JSON.stringify({ pattern: '*.md' }) },
      ])
      expect(messages[0]!.stop).toBe('tool_use')
      expect(messages[1]!.blocks).toEqual([{ type: 'text', text: 'Nothing there.' }])
      expect(messages[1]!.stop).toBe('end_turn')
      const deltaUsage = stream.filter((e) => e.type === 'message_delta').map((e) => e.usage)
      expect(deltaUsage[0]).toMatchObject({ output_tokens: 7 })
      // Each message's events come before its assistant line, which has the same blocks.
      const assistants = out.filter((l) => l.type === 'assistant')
      expect(assistants).toHaveLength(2)
      const content = (assistants[0]!.message as { content: Array<{ type: string }> }).content
      expect(content.map((b) => b.type)).toEqual(['text', 'tool_use'])
      // Every stream_event line has Claude Code's fields.
      const line = out.find((l) => l.type === 'stream_event')!
      expect(line).toMatchObject({ parent_tool_use_id: null, session_id: out[0]!.session_id })
      expect(typeof line.uuid).toBe('string')
      // message_start has the provider's id (Anthropic's msg_..., OpenAI's chatcmpl-...; Ollama sends
      // none: tau's), the one the assistant line carries; and the input usage where it is known at
      // the start (Anthropic's message_start; OpenAI's and Ollama's come at the end, in message_delta).
      expect(assistants.map((a) => (a.message as { id: string }).id)).toEqual(messages.map((m) => m.id))
      const starts = stream
        .filter((e) => e.type === 'message_start')
        .map((e) => e.message as { id: string; usage: Record<string, number> })
      const ids = { anthropic: /^msg_scripted\d+$/, openai: /^chatcmpl-/, ollama: /^msg_[0-9a-f]{32}$/ }
      expect(starts.map((m) => m.id)).toEqual([
        expect.stringMatching(ids[format]),
        expect.stringMatching(ids[format]),
      ])
      expect(starts.map((m) => m.usage.input_tokens)).toEqual(format === 'anthropic' ? [50, 60] : [0, 0])
      if (format !== 'anthropic') expect(deltaUsage[0]).toMatchObject({ input_tokens: 50 })
    })
  }

  it("a subagent's stream events carry its Task call's id; thinking is its own block", async () => {
    const { out } = await run('anthropic', [
      { toolCalls: [{ id: 't1', name: 'Task', input: { description: 'look', prompt: 'look around' } }] },
      { reasoning: 'hmm', text: 'child says hi' },
      { text: 'done' },
    ])
    const child = out
      .filter((l) => l.type === 'stream_event' && l.parent_tool_use_id === 't1')
      .map((l) => l.event as Record<string, unknown> & { type: string })
    const [message] = rebuild(child)
    expect(message!.blocks.map((b) => b.type)).toEqual(['thinking', 'text'])
    expect(message!.blocks[0]!.thinking).toBe('hmm')
    expect(message!.blocks[1]!.text).toBe('child says hi')
    expect(rebuild(events(out)).map((m) => m.blocks.map((b) => b.type))).toEqual([['tool_use'], ['text']])
  })
})

describe("the result's timing and model limits", () => {
  for (const format of ['anthropic', 'openai'] as const) {
    it(`${format}: ttft_ms on each assistant line and the result; modelUsage has contextWindow and maxOutputTokens`, async () => {
      const { out, model } = await run(format, [{ text: 'hello', firstByteDelayMs: 30 }])
      const assistant = out.find((l) => l.type === 'assistant')!
      const final = out.at(-1)!
      expect(final.type).toBe('result')
      const ttft = assistant.ttft_ms as number
      expect(typeof ttft).toBe('number')
      // It cannot come before the server's first byte, nor after the call ended.
      expect(ttft).toBeGreaterThanOrEqual(30)
      expect(ttft).toBeLessThanOrEqual(final.duration_api_ms as number)
      expect(final.ttft_ms).toBe(ttft)
      expect((final.modelUsage as Record<string, unknown>)[model]).toMatchObject({
        contextWindow: 123456,
        maxOutputTokens: 4321,
      })
    })
  }
})
