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

/**
 * Splits decoded text into lines across chunk boundaries; \n, \r\n and \r all end a line.
 * Synchronous, so each parser below is a single generator (an extra async generator layer per
 * line cost more than the parsing itself).
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder()
  private buffer = ''
  private first = true
  /** The first few hundred characters of the text, for error messages about the answer. */
  head = ''

  /** Adds a chunk of bytes; returns the lines it completed. */
  push(chunk: Uint8Array): string[] {
    let text = this.decoder.decode(chunk, { stream: true })
    if (this.first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      this.first = false
    }
    if (this.head.length < HEAD_CHARS) this.head += text.slice(0, HEAD_CHARS - this.head.length)
    this.buffer += text
    return this.drain(false)
  }

  /** Ends the input; returns the last lines, the unterminated one included. */
  end(): string[] {
    this.buffer += this.decoder.decode()
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
    this.buffer = start === 0 ? buffer : buffer.slice(start)
    return out
  }
}

/**
 * Parses an SSE stream into events (per the WHATWG EventSource rules). `head.text` receives the
 * first few hundred characters of the body, for an error message when it turns out not to be SSE.
 */
export async function* parseSse(
  body: AsyncIterable<Uint8Array>,
  head?: { text: string },
): AsyncGenerator<SseEvent> {
  const splitter = new LineSplitter()
  let event: string | undefined
  let data: string[] = []
  const ready: SseEvent[] = []
  const take = (line: string) => {
    if (line === '') {
      if (data.length > 0) ready.push({ event, data: data.join('\n') })
      event = undefined
      data = []
      return
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
  }
  for await (const chunk of body) {
    for (const line of splitter.push(chunk)) take(line)
    if (head) head.text = splitter.head
    if (ready.length > 0) yield* ready.splice(0)
  }
  for (const line of splitter.end()) take(line)
  if (data.length > 0) ready.push({ event, data: data.join('\n') })
  yield* ready
}

/** Parses newline-delimited JSON; a line that is not JSON is a bad-response error naming it. */
export async function* parseNdjson(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<unknown> {
  const splitter = new LineSplitter()
  const parse = (line: string): unknown => {
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
  for await (const chunk of body) {
    for (const line of splitter.push(chunk)) if (line.trim() !== '') yield parse(line)
  }
  for (const line of splitter.end()) if (line.trim() !== '') yield parse(line)
}
