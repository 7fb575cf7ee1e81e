/**
 * Stream parse rate of each model provider, in process, no network: one long streamed answer per
 * wire format (20,000 text deltas, 2,000 reasoning deltas, four tool calls whose arguments stream
 * in pieces where the format does that), rendered by the scripted server's own renderers
 * (plugins/provider-scripted/wire/*.ts, the exact bytes the real APIs send), cut into chunks of
 * 1 to 4 KB at arbitrary byte offsets, and fed through the function each provider turns a
 * response body into StreamEvents with:
 *
 *   ollama     readChatStream     plugins/provider-ollama/chat-stream.ts   (NDJSON)
 *   openai     readChatAnswer     plugins/provider-openai/stream.ts        (SSE)
 *   anthropic  readMessagesStream plugins/provider-anthropic/stream.ts     (SSE)
 *
 * A second group runs only the shared framing (parseNdjson, parseSse in plugins/providers/framing.ts)
 * over the same bytes, to show how much of the time is framing and how much is the provider's own
 * event mapping. Besides vitest's table this prints MB/s and events/s from the median run and from
 * the fastest (the steadier figure on a busy machine). Figures only, no assertions on time (see
 * docs/benchmarks.md); the parsed answer is checked once, untimed, against the script.
 *
 * Run alone: npx vitest bench --run bench/provider-parse.bench.ts
 * TAU_BENCH_TEXT_DELTAS=100000 makes the answer longer (default 20,000 text deltas).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, bench, describe } from 'vitest'
import { collectStream, type StreamEvent } from '../kernel/index.js'
import { readMessagesStream } from '../plugins/provider-anthropic/stream.js'
import { readChatStream } from '../plugins/provider-ollama/chat-stream.js'
import { readChatAnswer } from '../plugins/provider-openai/stream.js'
import type { ScriptTurn } from '../plugins/provider-scripted/script.js'
import { anthropicWire } from '../plugins/provider-scripted/wire/anthropic.js'
import { ollamaWire } from '../plugins/provider-scripted/wire/ollama.js'
import { openaiWire } from '../plugins/provider-scripted/wire/openai.js'
import type { WireRenderer, WireRequest } from '../plugins/provider-scripted/wire/types.js'
import { parseNdjson, parseSse } from '../plugins/providers/framing.js'

// Benches never touch the real home directory (nothing here reads it, but keep the rule).
const home = mkdtempSync(join(tmpdir(), 'tau-bench-home-'))
process.env.TAU_HOME = home

const TEXT_DELTAS = Number(process.env.TAU_BENCH_TEXT_DELTAS ?? 20_000)
const REASONING_DELTAS = 2_000
/** Characters per delta: the scripted renderers' default, about what the APIs send per token or two. */
const DELTA_CHARS = 8

/** Deterministic pseudo-random numbers (the same stream on every run). */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

const WORDS = (
  'the a of to and in is that for it with as on be this by are from or an at which function value ' +
  'request response stream provider kernel plugin config error returns string number object array ' +
  'async await const let type interface export import default test build run file path line ' +
  'naïve café résumé — “quoted” ‘single’ … → ≤ ≥ 日本語 テキスト 中文 🚀 ✅ 😀'
).split(' ')

/**
 * Prose, markdown and code (quotes, backslashes, tabs, newlines, non-ASCII), as a model writes it:
 * exactly `chars` code points, so it splits into exactly chars / DELTA_CHARS deltas.
 */
function realisticText(chars: number, random: () => number): string {
  let out = ''
  while (out.length < chars * 1.2) {
    const kind = random()
    if (kind < 0.08) {
      out +=
        '\n```ts\nexport function parse(line: string): Record<string, unknown> {\n' +
        '\tconst value = JSON.parse(line.replace(/\\r?\\n$/, ""))\n' +
        '\treturn typeof value === \'object\' ? value : { "raw": line }\n}\n```\n\n'
    } else if (kind < 0.15) {
      out += `\n- **${WORDS[Math.floor(random() * WORDS.length)]}**: \`path/to/file-${Math.floor(random() * 100)}.ts\`\n`
    } else {
      const n = 8 + Math.floor(random() * 20)
      const sentence: string[] = []
      for (let i = 0; i < n; i++) sentence.push(WORDS[Math.floor(random() * WORDS.length)]!)
      out += `${sentence.join(' ')}. `
      if (random() < 0.2) out += '\n\n'
    }
  }
  return Array.from(out).slice(0, chars).join('')
}

function buildTurn(): ScriptTurn {
  const random = prng(42)
  const fileContent = realisticText(3_000, random)
  return {
    reasoning: realisticText(REASONING_DELTAS * DELTA_CHARS, random),
    text: realisticText(TEXT_DELTAS * DELTA_CHARS, random),
    toolCalls: [
      { id: 'call_read_1', name: 'read_file', input: { path: 'src/index.ts' } },
      { id: 'call_grep_2', name: 'grep', input: { pattern: 'export (async )?function \\w+', path: 'src' } },
      { id: 'call_write_3', name: 'write_file', input: { path: 'docs/notes.md', content: fileContent } },
      {
        id: 'call_bash_4',
        name: 'bash',
        input: { command: 'npm test -- --reporter=dot 2>&1 | tail -n 40', timeoutMs: 120_000 },
      },
    ],
    usage: { inputTokens: 12_345, outputTokens: 45_678, cacheReadTokens: 10_000 },
    deltaChars: DELTA_CHARS,
  }
}

interface Format {
  readonly name: 'ollama' | 'openai' | 'anthropic'
  readonly renderer: WireRenderer
  readonly request: WireRequest
  readonly framing: 'ndjson' | 'sse'
  readonly contentType: string
}

const FORMATS: readonly Format[] = [
  {
    name: 'ollama',
    renderer: ollamaWire,
    framing: 'ndjson',
    contentType: 'application/x-ndjson',
    request: wireRequest('/api/chat', {}, { model: 'qwen3:8b', stream: true }),
  },
  {
    name: 'openai',
    renderer: openaiWire,
    framing: 'sse',
    contentType: 'text/event-stream; charset=utf-8',
    request: wireRequest(
      '/v1/chat/completions',
      { authorization: 'Bearer sk-bench-0123456789' },
      { model: 'gpt-4o', stream: true, stream_options: { include_usage: true } },
    ),
  },
  {
    name: 'anthropic',
    renderer: anthropicWire,
    framing: 'sse',
    contentType: 'text/event-stream; charset=utf-8',
    request: wireRequest(
      '/v1/messages',
      { 'x-api-key': 'sk-ant-bench-0123456789' },
      { model: 'claude-sonnet-4-5', stream: true },
    ),
  },
]

function wireRequest(
  path: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
): WireRequest {
  const full = { ...body, messages: [{ role: 'user', content: 'Refactor the parser and explain.' }] }
  return { method: 'POST', path, headers, body: full, rawBody: JSON.stringify(full) }
}

/** The answer's bytes, exactly as the scripted server would send them. */
function render(format: Format, turn: ScriptTurn): Buffer {
  const response = format.renderer.handle(format.request, {
    next: () => turn,
    models: [{ name: String((format.request.body as { model: string }).model), capabilities: ['tools'] }],
    embed: () => [],
  })
  if (response?.status !== 200) throw new Error(`${format.name}: the renderer did not answer 200`)
  return Buffer.from(response.chunks.join(''), 'utf8')
}

/** Cuts the bytes at arbitrary offsets into chunks of 1 to 4 KB, as a socket delivers them. */
function cut(bytes: Buffer, random: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  for (let at = 0; at < bytes.length; ) {
    const size = 1_024 + Math.floor(random() * 3_073)
    chunks.push(bytes.subarray(at, at + size))
    at += size
  }
  return chunks
}

async function* body(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk
}

function parser(format: Format, chunks: readonly Uint8Array[]): AsyncIterable<StreamEvent> {
  let ids = 0
  const nextId = () => `call_bench_${++ids}`
  switch (format.name) {
    case 'ollama':
      return readChatStream(body(chunks), { nextId })
    case 'openai':
      return readChatAnswer(
        { status: 200, headers: { 'content-type': format.contentType }, body: body(chunks) },
        { provider: 'openai', nextId, secrets: ['sk-bench-0123456789'] },
      )
    case 'anthropic':
      return readMessagesStream(body(chunks), { newToolCallId: nextId })
  }
}

function framingOnly(format: Format, chunks: readonly Uint8Array[]): AsyncIterable<unknown> {
  return format.framing === 'ndjson' ? parseNdjson(body(chunks), format.name) : parseSse(body(chunks))
}

async function* replay(events: readonly StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events
}

async function drain(events: AsyncIterable<unknown>): Promise<number> {
  let count = 0
  for await (const _ of events) count++
  return count
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Prepared {
  readonly format: Format
  readonly bytes: number
  readonly chunks: readonly Uint8Array[]
  readonly events: number
  readonly frames: number
}

const turn = buildTurn()

/** Renders, cuts and checks each format once, untimed. */
async function prepare(format: Format): Promise<Prepared> {
  const bytes = render(format, turn)
  const chunks = cut(bytes, prng(7))
  const events: StreamEvent[] = []
  for await (const event of parser(format, chunks)) events.push(event)
  const answer = await collectStream({ provider: format.name, model: 'bench' }, replay(events))
  const text = answer.message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
  const calls = answer.message.content.filter((part) => part.type === 'tool-call')
  // The deltas of one network chunk come out merged into one event (pushEvent): at most one per wire delta.
  const deltas = events.filter((e) => e.type === 'text-delta').length
  if (text !== turn.text || calls.length !== turn.toolCalls!.length || deltas < 1 || deltas > TEXT_DELTAS) {
    throw new Error(
      `${format.name}: the parsed answer does not match the script (${deltas} text deltas, ${calls.length} tool calls,)`,
    )
  }
  return {
    format,
    bytes: bytes.length,
    chunks,
    events: events.length,
    frames: await drain(framingOnly(format, chunks)),
  }
}

const prepared = await Promise.all(FORMATS.map(prepare)).catch((error: unknown) => {
  rmSync(home, { recursive: true, force: true })
  throw error
})

/** Samples per group and format, for the summary. */
const samples = new Map<string, Map<string, number[]>>()

function group(title: string, run: (p: Prepared) => Promise<number>): void {
  const byFormat = new Map<string, number[]>()
  samples.set(title, byFormat)
  describe(title, () => {
    for (const p of prepared) {
      const times: number[] = []
      byFormat.set(p.format.name, times)
      bench(
        `${p.format.name} (${(p.bytes / 1e6).toFixed(2)} MB, ${p.chunks.length} chunks)`,
        async () => {
          const started = performance.now()
          await run(p)
          times.push(performance.now() - started)
        },
        {
          time: 2_000,
          warmupTime: 500,
          setup: (_task, mode) => {
            if (mode === 'run') times.length = 0
          },
        },
      )
    }
  })
}

group('stream parse: bytes -> StreamEvents (the provider path)', (p) => drain(parser(p.format, p.chunks)))
group('framing only: parseNdjson / parseSse', (p) => drain(framingOnly(p.format, p.chunks)))

afterAll(() => {
  const lines = [
    '',
    `provider stream parse (${TEXT_DELTAS} text + ${REASONING_DELTAS} reasoning deltas, 4 tool calls), median run and fastest run:`,
  ]
  const rate = (p: Prepared, items: number, ms: number) =>
    `${(p.bytes / 1e6 / (ms / 1_000)).toFixed(1).padStart(6)} MB/s ${(items / (ms / 1_000) / 1e6).toFixed(2)} M/s`
  for (const [title, byFormat] of samples) {
    lines.push(`  ${title}`)
    for (const p of prepared) {
      const times = byFormat.get(p.format.name) ?? []
      if (times.length === 0) continue
      const framing = title.startsWith('framing')
      // Rates count what came in on the wire (SSE events or lines), in both groups: the events
      // out are fewer, a chunk's deltas merged into one.
      const items = p.frames
      const what = `${p.format.framing === 'sse' ? 'SSE events' : 'lines'} in${framing ? '' : `, ${p.events} events out`}`
      const ms = median(times)
      const best = Math.min(...times)
      lines.push(
        `    ${p.format.name.padEnd(9)} median ${ms.toFixed(1).padStart(6)} ms ${rate(p, items, ms)}   fastest ${best
          .toFixed(1)
          .padStart(
            6,
          )} ms ${rate(p, items, best)}   (${items} ${what}, ${(p.bytes / 1e6).toFixed(2)} MB, ${times.length} runs)`,
      )
    }
  }
  process.stdout.write(`${lines.join('\n')}\n\n`)
  rmSync(home, { recursive: true, force: true })
})
