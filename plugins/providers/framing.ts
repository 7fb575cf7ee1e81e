/**
 * Wire framing for streamed answers: Server-Sent Events (OpenAI, Anthropic) and newline-delimited
 * JSON (Ollama). Both take bytes in chunks cut anywhere, a multi-byte character included.
 */
import { ProviderError } from './errors.js'

export interface SseEvent {
  /** The `event:` field, or undefined for the default "message". */
  readonly event: string | undefined
  readonly data: string
}

const HEAD_CHARS = 300

/** A chunk as a Buffer without copying it (undici's chunks already are). */
const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

/**
 * How many bytes at the end of `bytes` begin a UTF-8 character whose other bytes are still to
 * come (0 to 3). They wait for the next chunk; anything else decodes now, invalid bytes included
 * (as U+FFFD, the same as at the end of the stream).
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const n = bytes.length
  for (let back = 1; back <= 3 && back <= n; back++) {
    const byte = bytes[n - back] as number
    if ((byte & 0xc0) === 0x80) continue // a continuation byte: look further back for its lead
    if (byte < 0xc0) return 0 // ASCII: nothing pending
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2
    return length > back ? back : 0
  }
  return 0
}

/**
 * Splits the bytes of a body into lines across chunk boundaries; \n, \r\n and \r all end a line.
 * Decodes UTF-8 with Buffer's decoder, holding back the bytes of a character cut by a chunk
 * boundary (a TextDecoder per stream costs more to create than a short answer takes to decode).
 * Synchronous, so each parser below is a single generator (an extra async generator layer per
 * line cost more than the parsing itself).
 */
export class LineSplitter {
  private pending: Buffer | undefined
  private buffer = ''
  private first = true
  /** The first few hundred characters of the text, for error messages about the answer. */
  head = ''

  /** Adds a chunk of bytes; returns the lines it completed. */
  push(chunk: Uint8Array): string[] {
    let bytes = asBuffer(chunk)
    if (this.pending) {
      bytes = Buffer.concat([this.pending, bytes])
      this.pending = undefined
    }
    const tail = incompleteUtf8Tail(bytes)
    if (tail > 0) this.pending = bytes.subarray(bytes.length - tail)
    let text = bytes.toString('utf8', 0, bytes.length - tail)
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      this.first = false
    }
    if (this.head.length < HEAD_CHARS) this.head += text.slice(0, HEAD_CHARS - this.head.length)
    this.buffer = this.buffer === '' ? text : this.buffer + text
    return this.drain(false)
  }

  /** Ends the input; returns the last lines, the unterminated one included. */
  end(): string[] {
    if (this.pending) {
      this.buffer += this.pending.toString('utf8')
      this.pending = undefined
    }
    const out = this.drain(true)
    if (this.buffer !== '') out.push(this.buffer)
    this.buffer = ''
    return out
  }

  private drain(final: boolean): string[] {
    const buffer = this.buffer
    const out: string[] = []
    let start = 0
    if (buffer.indexOf('\r') === -1) {
      // The usual case: \n only, found with indexOf.
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n', start)) {
        out.push(buffer.slice(start, end))
        start = end + 1
      }
    } else {
      for (let i = 0; i < buffer.length; i++) {
        const ch = buffer.charCodeAt(i)
        if (ch !== 10 && ch !== 13) continue
        // A \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (ch === 13 && i === buffer.length - 1 && !final) break
        out.push(buffer.slice(start, i))
        if (ch === 13 && buffer.charCodeAt(i + 1) === 10) i++
        start = i + 1
      }
    }
    this.buffer = start === 0 ? buffer : start === buffer.length ? '' : buffer.slice(start)
    return out
  }
}

/** A synchronous parser of a body's chunks: what each chunk completes, then what the end does. */
export interface ChunkParser<T> {
  push(chunk: Uint8Array): T[]
  end(): T[]
}

/**
 * A body through a ChunkParser, one array per chunk (empty ones skipped). The stream parsers
 * iterate these arrays synchronously: one await per network chunk instead of one per event.
 */
export async function* parsedChunks<T>(
  body: AsyncIterable<Uint8Array>,
  parser: ChunkParser<T>,
): AsyncGenerator<T[]> {
  for await (const chunk of body) {
    const items = parser.push(chunk)
    if (items.length > 0) yield items
  }
  const last = parser.end()
  if (last.length > 0) yield last
}

/**
 * Server-Sent Events (per the WHATWG EventSource rules) from a body's chunks. `head` is the
 * first few hundred characters of the body, for an error message when it turns out not to be SSE.
 */
export class SseParser implements ChunkParser<SseEvent> {
  private readonly lines = new LineSplitter()
  private event: string | undefined
  private data: string[] = []
  private ready: SseEvent[] = []

  get head(): string {
    return this.lines.head
  }

  push(chunk: Uint8Array): SseEvent[] {
    for (const line of this.lines.push(chunk)) this.take(line)
    return this.flush()
  }

  end(): SseEvent[] {
    for (const line of this.lines.end()) this.take(line)
    if (this.data.length > 0) this.ready.push({ event: this.event, data: this.data.join('\n') })
    this.data = []
    return this.flush()
  }

  private flush(): SseEvent[] {
    const out = this.ready
    if (out.length > 0) this.ready = []
    return out
  }

  private take(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        const data = this.data
        this.ready.push({
          event: this.event,
          data: data.length === 1 ? (data[0] as string) : data.join('\n'),
        })
        this.data = []
      }
      this.event = undefined
      return
    }
    const first = line.charCodeAt(0)
    if (first === 58 /* ':' */) return
    // The usual line, `data: ...`, without splitting it into field and value.
    if (first === 100 /* 'd' */ && line.startsWith('data:')) {
      this.data.push(line.charCodeAt(5) === 32 /* ' ' */ ? line.slice(6) : line.slice(5))
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
  }
}

/** Newline-delimited JSON from a body's chunks: the non-blank lines, to parse with parseNdjsonLine. */
export class NdjsonLines implements ChunkParser<string> {
  private readonly lines = new LineSplitter()

  push(chunk: Uint8Array): string[] {
    return nonBlank(this.lines.push(chunk))
  }

  end(): string[] {
    return nonBlank(this.lines.end())
  }
}

function nonBlank(lines: string[]): string[] {
  let blank = false
  for (const line of lines) if (line.trim() === '') blank = true
  return blank ? lines.filter((line) => line.trim() !== '') : lines
}

/** One NDJSON line; a line that is not JSON is a bad-response error naming it. */
export function parseNdjsonLine(line: string, provider: string): unknown {
  try {
    return JSON.parse(line)
  } catch (error) {
    throw new ProviderError(
      'bad-response',
      `${provider}: a streamed line is not JSON: ${line.trim().slice(0, 200)}`,
      {
        provider,
        retryable: false,
        cause: error,
      },
    )
  }
}

/** Parses an SSE stream into events. `head.text` receives the first characters of the body. */
export async function* parseSse(
  body: AsyncIterable<Uint8Array>,
  head?: { text: string },
): AsyncGenerator<SseEvent> {
  const parser = new SseParser()
  for await (const events of parsedChunks(body, parser)) {
    if (head) head.text = parser.head
    for (const event of events) yield event
  }
  if (head) head.text = parser.head
}

/** Parses newline-delimited JSON; a line that is not JSON is a bad-response error naming it. */
export async function* parseNdjson(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<unknown> {
  for await (const lines of parsedChunks(body, new NdjsonLines())) {
    for (const line of lines) yield parseNdjsonLine(line, provider)
  }
}

/** A character a JSON string cannot hold as it is: a quote, a backslash or a control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: they are what a JSON string must escape
const NOT_PLAIN = /["\\\u0000-\u001f]/

/**
 * The value of the JSON string whose characters (between its quotes) are `data` from `start` to
 * `end`, or undefined when they are not one valid JSON string. Text without escapes is sliced
 * as it is; escapes are decoded by JSON.parse of the string alone. For readers that take the
 * text out of an event in a known exact form without parsing the whole event.
 */
export function jsonStringAt(data: string, start: number, end: number): string | undefined {
  if (start < 1 || end < start || end >= data.length) return undefined
  const text = data.slice(start, end)
  if (!NOT_PLAIN.test(text)) return text
  try {
    const decoded: unknown = JSON.parse(data.slice(start - 1, end + 1))
    return typeof decoded === 'string' ? decoded : undefined
  } catch {
    return undefined
  }
}
