/**
 * A Chat Completions answer -> normalized StreamEvents. Reads the SSE stream (`data: {chunk}` ...
 * `data: [DONE]`) and, for servers that ignore `stream: true`, a whole `chat.completion` object.
 *
 * Tool calls arrive as deltas keyed by `index`: the first delta of a call carries its id and name,
 * later ones pieces of its arguments. A call is announced (tool-call-start) once its name is known
 * and ended, with its parsed arguments, when the choice finishes. Servers that send a whole call in
 * one delta, repeat the id in every delta, reuse index 0 for parallel calls with new ids, or send no
 * id at all are all read the same way.
 */
import type { FinishReason, StreamEvent, Usage } from '../../kernel/index.js'
import {
  type ChunkParser,
  type EventReader,
  type EventSource,
  type HttpResponse,
  jsonStringAt,
  ProviderError,
  parseToolArguments,
  pushEvent,
  type SseEvent,
  SseParser,
  streamEvents,
} from '../providers/index.js'
import { streamError, type WireError, wireError } from './wire-errors.js'

type Json = Record<string, unknown>

export interface StreamContext {
  readonly provider: string
  /** A new unique tool-call id, for servers that send none. */
  readonly nextId: () => string
  readonly secrets: readonly string[]
  readonly signal?: AbortSignal | undefined
}

interface ToolCallState {
  readonly key: number
  /** The id the server sent, to tell a continuation from a new call that reuses the index. */
  readonly wireId: string | undefined
  readonly id: string
  name: string
  args: string
  started: boolean
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function finishReasonOf(reason: unknown, sawToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'length':
      return 'length'
    case 'content_filter':
      return 'content-filter'
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls'
    default:
      // Some compatible servers finish a tool-calling turn with `stop`.
      return sawToolCalls ? 'tool-calls' : 'stop'
  }
}

export function usageOf(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined
  const input = value.prompt_tokens
  const output = value.completion_tokens
  if (typeof input !== 'number' && typeof output !== 'number') return undefined
  const usage: Usage = {
    inputTokens: typeof input === 'number' ? input : 0,
    outputTokens: typeof output === 'number' ? output : 0,
  }
  const cached = isObject(value.prompt_tokens_details) ? value.prompt_tokens_details.cached_tokens : undefined
  if (typeof cached === 'number') usage.cacheReadTokens = cached
  const reasoning = isObject(value.completion_tokens_details)
    ? value.completion_tokens_details.reasoning_tokens
    : undefined
  if (typeof reasoning === 'number') usage.reasoningTokens = reasoning
  return usage
}

/** Arguments as text: a string as sent, an object (some servers) as JSON. */
function argumentsPiece(value: unknown): string {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  return JSON.stringify(value)
}

/**
 * Folds one choice's deltas into events; shared by the stream and the whole-object answer. Each
 * method pushes its events onto `out` (plain calls: a generator per delta cost more than the delta).
 */
class ChoiceReader {
  private readonly calls: ToolCallState[] = []
  private readonly byKey = new Map<number, ToolCallState>()
  private nextKey = 1_000_000
  finish: FinishReason | undefined
  produced = false
  /** The answer's id (`chatcmpl-...`), from its first chunk. */
  messageId: string | undefined
  private anyToolCalls = false

  constructor(private readonly context: StreamContext) {}

  delta(delta: Json, out: StreamEvent[]): void {
    // DeepSeek and vLLM send `reasoning_content`, OpenRouter `reasoning`; a server sending both means the same text.
    const reasoning =
      typeof delta.reasoning_content === 'string'
        ? delta.reasoning_content
        : typeof delta.reasoning === 'string'
          ? delta.reasoning
          : undefined
    if (reasoning) this.emit(out, { type: 'reasoning-delta', text: reasoning })
    if (typeof delta.content === 'string' && delta.content !== '') this.text(delta.content, out)
    // A refusal (structured outputs) is the model's answer: show it as text.
    if (typeof delta.refusal === 'string' && delta.refusal !== '')
      this.emit(out, { type: 'text-delta', text: delta.refusal })
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isObject(call)) this.toolCallDelta(call, out)
    }
  }

  /** A piece of the answer's text (also for chunks read by plainContentChunk). */
  text(text: string, out: StreamEvent[]): void {
    this.emit(out, { type: 'text-delta', text })
  }

  private emit(out: StreamEvent[], event: StreamEvent): void {
    if (!this.produced) this.start(out)
    pushEvent(out, event)
  }

  /**
   * The answer's first event: a message-start with the first chunk's id goes out before it (with
   * it, in the same batch, so an error before any content stays retryable). No usage: OpenAI's
   * comes in the last chunk.
   */
  start(out: StreamEvent[]): void {
    this.produced = true
    if (this.messageId !== undefined) out.push({ type: 'message-start', id: this.messageId })
  }

  private toolCallDelta(call: Json, out: StreamEvent[]): void {
    const fn = isObject(call.function) ? call.function : {}
    const wireId = typeof call.id === 'string' && call.id !== '' ? call.id : undefined
    const name = typeof fn.name === 'string' ? fn.name : undefined
    let state: ToolCallState | undefined
    if (typeof call.index === 'number') {
      state = this.byKey.get(call.index)
      // Index reused with another id (some servers number every parallel call 0): a new call.
      if (state && wireId !== undefined && state.wireId !== undefined && wireId !== state.wireId) {
        state = undefined
      }
    } else if (wireId !== undefined) {
      state = this.calls.find((c) => c.wireId === wireId)
    } else if (name === undefined) {
      state = this.calls[this.calls.length - 1]
    }
    if (!state) {
      const key = typeof call.index === 'number' ? call.index : this.nextKey++
      state = { key, wireId, id: wireId ?? this.context.nextId(), name: name ?? '', args: '', started: false }
      this.calls.push(state)
      this.byKey.set(key, state)
      this.anyToolCalls = true
    } else if (name && !state.started) {
      state.name += name
    }
    const piece = argumentsPiece(fn.arguments)
    if (!state.started && state.name !== '') {
      state.started = true
      this.emit(out, { type: 'tool-call-start', id: state.id, name: state.name })
      // Arguments that came before the name (rare) go out now.
      if (state.args !== '') out.push({ type: 'tool-call-delta', id: state.id, argumentsDelta: state.args })
    }
    if (piece !== '') {
      state.args += piece
      if (state.started) pushEvent(out, { type: 'tool-call-delta', id: state.id, argumentsDelta: piece })
    }
  }

  /** Ends every open tool call with its parsed arguments, in the order the calls began. */
  endToolCalls(out: StreamEvent[]): void {
    for (const call of this.calls.splice(0)) {
      if (!call.started) {
        this.emit(out, { type: 'tool-call-start', id: call.id, name: call.name })
        if (call.args !== '') out.push({ type: 'tool-call-delta', id: call.id, argumentsDelta: call.args })
      }
      const parsed = parseToolArguments(call.args)
      out.push(
        parsed.ok
          ? { type: 'tool-call-end', id: call.id, name: call.name, input: parsed.value }
          : {
              type: 'tool-call-end',
              id: call.id,
              name: call.name,
              input: call.args,
              inputError: parsed.error,
            },
      )
    }
    this.byKey.clear()
  }

  finishChoice(reason: unknown, out: StreamEvent[]): void {
    this.endToolCalls(out)
    this.finish = finishReasonOf(reason, this.anyToolCalls)
  }
}

/** An `event: error` whose data is not in the `{error: {...}}` shape. */
function bareError(chunk: unknown, data: string): WireError {
  const message = isObject(chunk) && typeof chunk.message === 'string' ? chunk.message : data.slice(0, 500)
  const code = isObject(chunk) && typeof chunk.code === 'string' ? chunk.code : undefined
  return { message, type: undefined, code, param: undefined }
}

function badResponse(provider: string, what: string, cause?: unknown): ProviderError {
  return new ProviderError('bad-response', `${provider}: ${what}`, {
    provider,
    retryable: false,
    ...(cause !== undefined ? { cause } : {}),
  })
}

function aborted(provider: string): ProviderError {
  return new ProviderError('aborted', `${provider}: request aborted`, { provider, retryable: false })
}

const CONTENT_HEAD = '"choices":[{"index":0,"delta":{"content":"'
const CONTENT_TAIL = '"},"logprobs":null,"finish_reason":null}]'
// The members around `choices` in a text chunk: keys of lowercase letters and underscores, values
// strings without escapes, integers or null; never `error` (a failure) nor a second `choices`.
// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string holds none unescaped
const FLAT_BEFORE = /^\{(?:"(?!error"|choices")[a-z_]+":(?:"[^"\\\u0000-\u001f]*"|-?\d+|null),)*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: a JSON string holds none unescaped
const FLAT_AFTER = /^(?:,"(?!error"|choices")[a-z_]+":(?:"[^"\\\u0000-\u001f]*"|-?\d+|null))*\}$/

/**
 * The text of a chunk that carries only a piece of text, written as OpenAI and Azure OpenAI write
 * it (`{"id":"...",...,"choices":[{"index":0,"delta":{"content":"..."},"logprobs":null,
 * "finish_reason":null}],"usage":null,...}`), or undefined for any other chunk, which is then
 * parsed whole. Every member around `choices` is checked to be flat and harmless (see
 * FLAT_BEFORE), so the answer is the one JSON.parse would give.
 */
export function plainContentChunk(data: string): string | undefined {
  const head = data.indexOf(CONTENT_HEAD)
  if (head < 1) return undefined
  const start = head + CONTENT_HEAD.length
  const end = data.indexOf(CONTENT_TAIL, start)
  if (end < 0) return undefined
  if (!flatAround(data, head, end + CONTENT_TAIL.length)) return undefined
  return jsonStringAt(data, start, end)
}

/** Whether the members before `head` and from `after` on are flat and harmless (FLAT_BEFORE). */
function flatAround(data: string, head: number, after: number): boolean {
  return FLAT_BEFORE.test(data.slice(0, head)) && FLAT_AFTER.test(data.slice(after))
}

const CHOICES = '"choices":'
const OPENING_CHOICES =
  '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]'
const CLOSING_HEAD = '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"'
const CLOSING_TAIL = '"}]'
const REASON = /^[a-z_]+$/

/**
 * A chunk without text in one of OpenAI's exact forms: null for the opening chunk (the role, no
 * text), the finish reason for the closing one (an empty delta and a finish_reason), undefined for
 * any other chunk, which is then parsed whole. The members around `choices` are checked as in
 * plainContentChunk.
 */
export function plainQuietChunk(data: string): string | null | undefined {
  const head = data.indexOf(CHOICES)
  if (head < 1) return undefined
  const at = head + CHOICES.length
  if (data.startsWith(OPENING_CHOICES, at)) {
    return flatAround(data, head, at + OPENING_CHOICES.length) ? null : undefined
  }
  if (!data.startsWith(CLOSING_HEAD, at)) return undefined
  const start = at + CLOSING_HEAD.length
  const end = data.indexOf(CLOSING_TAIL, start)
  if (end < 0) return undefined
  const reason = data.slice(start, end)
  return REASON.test(reason) && flatAround(data, head, end + CLOSING_TAIL.length) ? reason : undefined
}

/** The finish event, with the answer's id where the server sent one. */
function finishEvent(reader: ChoiceReader): StreamEvent {
  const reason = reader.finish ?? 'stop'
  return reader.messageId === undefined
    ? { type: 'finish', reason }
    : { type: 'finish', reason, id: reader.messageId }
}

const ID_HEAD = '{"id":"'

/**
 * A chunk's `id` (OpenAI writes it first, `{"id":"chatcmpl-...",...}`; other forms are parsed), or
 * undefined. Read from the first chunk only; a chunk that does not parse fails later, where it is read.
 */
export function chunkId(data: string): string | undefined {
  if (data.startsWith(ID_HEAD)) {
    const end = data.indexOf('"', ID_HEAD.length)
    const id = data.slice(ID_HEAD.length, end)
    if (end > ID_HEAD.length && !id.includes('\\')) return id
  }
  try {
    const chunk: unknown = JSON.parse(data)
    return isObject(chunk) && typeof chunk.id === 'string' && chunk.id !== '' ? chunk.id : undefined
  } catch {
    return undefined
  }
}

/** The answer's events. */
export function readChatAnswer(response: HttpResponse, context: StreamContext): AsyncIterable<StreamEvent> {
  return streamEvents(async () => chatSource(response, context))
}

/**
 * How an answer is read (see streamEvents): an event stream, or, from a server that ignored
 * `stream: true`, a whole `chat.completion` object.
 */
export function chatSource(
  response: HttpResponse,
  context: StreamContext,
): EventSource<SseEvent | string, StreamEvent> {
  const contentType = String(response.headers['content-type'] ?? '')
  if (contentType.includes('application/json'))
    return { body: response.body, parser: new WholeText(), reader: wholeAnswerReader(context) }
  const parser = new SseParser()
  return { body: response.body, parser, reader: chatStreamReader(context, parser) }
}

/** An event stream's reader: each network chunk's events handled at once, deltas merged (pushEvent). */
function chatStreamReader(context: StreamContext, sse: SseParser): EventReader<SseEvent, StreamEvent> {
  const { provider } = context
  const reader = new ChoiceReader(context)
  let usage: Usage | undefined
  let done = false
  let events = 0
  return {
    read(batch, out) {
      for (const event of batch) {
        if (context.signal?.aborted) throw aborted(provider)
        // After [DONE] the body is read to its end, not abandoned, so the connection stays reusable.
        if (done) continue
        events++
        // JSON.parse skips surrounding white space itself; only the sentinel is compared trimmed.
        const data = event.data
        if (events === 1) reader.messageId = chunkId(data)
        if (data.length < 16 && data.trim() === '[DONE]') {
          done = true
          continue
        }
        // Most chunks carry a piece of text and nothing else, and an answer opens and closes with a
        // chunk without text: read those without JSON.parse when they are exactly in the API's form.
        if (event.event === undefined) {
          const text = plainContentChunk(data)
          if (text !== undefined) {
            if (text !== '') reader.text(text, out)
            continue
          }
          const reason = plainQuietChunk(data)
          if (reason !== undefined) {
            if (reason !== null) reader.finishChoice(reason, out)
            continue
          }
        }
        let chunk: unknown
        try {
          chunk = JSON.parse(data)
        } catch (error) {
          throw badResponse(provider, `a streamed event is not JSON: ${data.slice(0, 200)}`, error)
        }
        const failure = wireError(chunk) ?? (event.event === 'error' ? bareError(chunk, data) : undefined)
        if (failure) throw streamError(provider, failure, reader.produced, context.secrets)
        if (!isObject(chunk))
          throw badResponse(provider, `a streamed event is not an object: ${data.slice(0, 200)}`)
        usage = usageOf(chunk.usage) ?? usage
        // Azure's content-filter verdict on the prompt (and the usage chunk) come with empty `choices`.
        const choices = Array.isArray(chunk.choices) ? chunk.choices : []
        for (const choice of choices) {
          // tau asks for one choice; another index would be a second answer.
          if (!isObject(choice) || (typeof choice.index === 'number' && choice.index !== 0)) continue
          if (isObject(choice.delta)) reader.delta(choice.delta, out)
          if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '')
            reader.finishChoice(choice.finish_reason, out)
        }
      }
    },
    end(out) {
      if (events === 0) {
        const quoted = sse.head.trim().slice(0, 200)
        throw badResponse(
          provider,
          quoted === ''
            ? 'the answer was empty (expected an event stream)'
            : `the answer is not an OpenAI event stream: ${quoted}`,
        )
      }
      if (reader.finish === undefined && !done) {
        throw new ProviderError(
          'connection',
          `${provider}: the answer stream ended before the model finished (no finish_reason, no [DONE])`,
          { provider, retryable: false },
        )
      }
      if (reader.finish === undefined) reader.finishChoice(undefined, out)
      // An answer without content still announces its id.
      if (!reader.produced) reader.start(out)
      if (usage) out.push({ type: 'usage', usage })
      out.push(finishEvent(reader))
    },
  }
}

/** A body read whole: its text, as one item at the end. */
class WholeText implements ChunkParser<string> {
  private readonly decoder = new TextDecoder()
  private text = ''

  push(chunk: Uint8Array): string[] {
    this.text += this.decoder.decode(chunk, { stream: true })
    return []
  }

  end(): string[] {
    return [this.text + this.decoder.decode()]
  }
}

/** A whole `chat.completion` object's reader. */
function wholeAnswerReader(context: StreamContext): EventReader<string, StreamEvent> {
  return {
    read(items, out) {
      for (const text of items) wholeAnswer(text, context, out)
    },
    end() {},
  }
}

/** A `chat.completion` object (a server that answered without streaming): its events onto out. */
function wholeAnswer(text: string, context: StreamContext, out: StreamEvent[]): void {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw badResponse(context.provider, `the answer is not JSON: ${text.trim().slice(0, 200)}`, error)
  }
  const failure = wireError(value)
  if (failure) throw streamError(context.provider, failure, false, context.secrets)
  const choice = isObject(value) && Array.isArray(value.choices) ? value.choices[0] : undefined
  if (!isObject(value) || !isObject(choice) || !isObject(choice.message)) {
    throw badResponse(context.provider, `the answer is not a chat completion: ${text.trim().slice(0, 200)}`)
  }
  const reader = new ChoiceReader(context)
  const message = choice.message
  const calls = Array.isArray(message.tool_calls)
    ? message.tool_calls.map((call, index) => (isObject(call) ? { index, ...call } : call))
    : undefined
  if (typeof value.id === 'string' && value.id !== '') reader.messageId = value.id
  reader.delta({ ...message, ...(calls ? { tool_calls: calls } : {}) }, out)
  reader.finishChoice(choice.finish_reason, out)
  if (!reader.produced) reader.start(out)
  const usage = usageOf(value.usage)
  if (usage) out.push({ type: 'usage', usage })
  out.push(finishEvent(reader))
}
