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

/** The default cap on one line of an answer (one SSE event's line, one NDJSON line): 64 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024

/**
 * Splits the bytes of a body into lines across chunk boundaries; \n, \r\n and \r all end a line.
 * Decodes UTF-8 with Buffer's decoder, holding back the bytes of a character cut by a chunk
 * boundary (a TextDecoder per stream costs more to create than a short answer takes to decode).
 * Synchronous, so each parser below is a single generator (an extra async generator layer per
 * line cost more than the parsing itself).
 *
 * Linear in the input: each chunk's text is scanned once, and a line that spans chunks is kept
 * as its pieces and joined once, when it ends (rescanning the pending text on every chunk made
 * a multi-megabyte tool call in small chunks quadratic). A line longer than `maxLineChars` ends
 * the answer with an error (TAU_PROVIDER_EVENT_TOO_LARGE) instead of growing without bound.
 */
export class LineSplitter {
  private pending: Buffer | undefined
  /** The unterminated line so far, in the pieces it came in. */
  private parts: string[] = []
  private partsLength = 0
  /** The last chunk ended with \r: a \n opening the next one belongs to it. */
  private afterCr = false
  private first = true
  /** The first few hundred characters of the text, for error messages about the answer. */
  head = ''
  /** Characters examined so far (each at most twice): what the linear-work test counts. */
  scanned = 0
  /** The longest line accepted, in characters; see DEFAULT_MAX_EVENT_BYTES. */
  maxLineChars = DEFAULT_MAX_EVENT_BYTES
  /** The provider named in the error when a line is too long. */
  provider = 'provider'

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
    const out: string[] = []
    this.split(text, out)
    return out
  }

  /** Ends the input; returns the last lines, the unterminated one included. */
  end(): string[] {
    const out: string[] = []
    if (this.pending) {
      this.split(this.pending.toString('utf8'), out)
      this.pending = undefined
    }
    if (this.partsLength > 0) out.push(this.take(''))
    return out
  }

  private split(text: string, out: string[]): void {
    let start = 0
    if (this.afterCr) {
      this.afterCr = false
      if (text.charCodeAt(0) === 10) start = 1
    }
    this.scanned += text.length
    if (text.indexOf('\r', start) === -1) {
      // The usual case: \n only, found with indexOf.
      this.scanned += text.length
      for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
        out.push(this.take(text.slice(start, end)))
        start = end + 1
      }
    } else {
      this.scanned += text.length
      for (let i = start; i < text.length; i++) {
        const ch = text.charCodeAt(i)
        if (ch !== 10 && ch !== 13) continue
        out.push(this.take(text.slice(start, i)))
        if (ch === 13) {
          if (i === text.length - 1) this.afterCr = true
          else if (text.charCodeAt(i + 1) === 10) i++
        }
        start = i + 1
      }
    }
    if (start < text.length) this.keep(text.slice(start))
  }

  /** The line ending with `last`: the pieces kept so far joined with it, once. */
  private take(last: string): string {
    if (this.partsLength === 0) return this.check(last)
    this.parts.push(last)
    const line = this.parts.length === 2 ? this.parts[0] + last : this.parts.join('')
    this.parts = []
    this.partsLength = 0
    return this.check(line)
  }

  private keep(piece: string): void {
    this.parts.push(piece)
    this.partsLength += piece.length
    this.check(undefined)
  }

  private check(line: string | undefined): string {
    const length = line === undefined ? this.partsLength : line.length
    if (length > this.maxLineChars) {
      this.parts = []
      this.partsLength = 0
      throw new ProviderError(
        'event-too-large',
        `${this.provider}: one event of the answer is larger than ${describeSize(this.maxLineChars)} (providers.limits.maxEventBytes); the answer was ended there. A tool call this large usually means the model tried to write a huge file at once: ask for it in parts, or raise the limit.`,
        { provider: this.provider, retryable: false },
      )
    }
    return line as string
  }
}

function describeSize(chars: number): string {
  return chars >= 1024 * 1024 && chars % (1024 * 1024) === 0
    ? `${chars / (1024 * 1024)} MiB`
    : `${chars} characters`
}

/** A synchronous parser of a body's chunks: what each chunk completes, then what the end does. */
export interface ChunkParser<T> {
  push(chunk: Uint8Array): T[]
  end(): T[]
  /** Caps one event's size (the line splitter's longest line), naming the provider in the error. */
  limit?(maxEventChars: number, provider: string): void
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

  limit(maxEventChars: number, provider: string): void {
    this.lines.maxLineChars = maxEventChars
    this.lines.provider = provider
  }

  /** Characters the line splitter examined (for the linear-work test). */
  get scanned(): number {
    return this.lines.scanned
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

  limit(maxEventChars: number, provider: string): void {
    this.lines.maxLineChars = maxEventChars
    this.lines.provider = provider
  }

  get scanned(): number {
    return this.lines.scanned
  }

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
