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

/** Splits decoded text into lines across chunk boundaries; \n, \r\n and \r all end a line. */
async function* lines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let buffer = ''
  let first = true
  const drain = function* (final: boolean): Generator<string> {
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer.charCodeAt(i)
      if (ch !== 10 && ch !== 13) continue
      // A \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (ch === 13 && i === buffer.length - 1 && !final) break
      yield buffer.slice(start, i)
      if (ch === 13 && buffer.charCodeAt(i + 1) === 10) i++
      start = i + 1
    }
    buffer = buffer.slice(start)
  }
  for await (const chunk of body) {
    let text = decoder.decode(chunk, { stream: true })
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      first = false
    }
    buffer += text
    yield* drain(false)
  }
  buffer += decoder.decode()
  yield* drain(true)
  if (buffer !== '') yield buffer
}

/** Parses an SSE stream into events (per the WHATWG EventSource rules). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  let event: string | undefined
  let data: string[] = []
  for await (const line of lines(body)) {
    if (line === '') {
      if (data.length > 0) yield { event, data: data.join('\n') }
      event = undefined
      data = []
      continue
    }
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
  }
  if (data.length > 0) yield { event, data: data.join('\n') }
}

/** Parses newline-delimited JSON; a line that is not JSON is a bad-response error naming it. */
export async function* parseNdjson(
  body: AsyncIterable<Uint8Array>,
  provider: string,
): AsyncGenerator<unknown> {
  for await (const line of lines(body)) {
    const trimmed = line.trim()
    if (trimmed === '') continue
    try {
      yield JSON.parse(trimmed)
    } catch (error) {
      throw new ProviderError(
        'bad-response',
        `${provider}: a streamed line is not JSON: ${trimmed.slice(0, 200)}`,
        {
          provider,
          retryable: false,
          cause: error,
        },
      )
    }
  }
}
