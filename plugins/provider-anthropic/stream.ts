/**
 * The Messages API's SSE stream as normalized StreamEvents.
 *
 *   message_start        usage: input, cache read, cache creation tokens
 *   content_block_start  text | thinking | redacted_thinking | tool_use (id, name)
 *   content_block_delta  text_delta | thinking_delta | signature_delta | input_json_delta
 *   content_block_stop   a tool_use block's accumulated partial_json is parsed here
 *   message_delta        stop_reason, output tokens (cumulative)
 *   message_stop         the end: usage and finish are yielded
 *   ping                 ignored
 *   error                `{type:'error', error:{type, message}}` inside the 200 stream
 *
 * Nothing is yielded before the first content delta, so an error event that arrives first (an
 * overloaded_error, typically) leaves the call free to be retried; message_start's id and usage
 * go out as a `message-start` event right before that delta.
 */
import type { FinishReason, StreamEvent, Usage } from '../../kernel/index.js'
import {
  type EventReader,
  type EventSource,
  isContextLengthMessage,
  jsonStringAt,
  ProviderError,
  type ProviderErrorKind,
  parseToolArguments,
  pushEvent,
  type SseEvent,
  SseParser,
  streamEvents,
} from '../providers/index.js'

const PROVIDER = 'anthropic'

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // A server tool loop paused: the turn is over for now; sending it back continues it.
  pause_turn: 'stop',
  tool_use: 'tool-calls',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  refusal: 'content-filter',
}

/** An Anthropic error type, from a body or an in-stream error event, as a ProviderError kind. */
export function errorKind(type: string | undefined, message: string): ProviderErrorKind {
  switch (type) {
    case 'overloaded_error':
    case 'api_error':
      return 'server'
    case 'rate_limit_error':
      return 'rate-limit'
    case 'timeout_error':
      return 'timeout'
    case 'authentication_error':
    case 'permission_error':
      return 'auth'
    case 'not_found_error':
      return 'model-not-found'
    case 'request_too_large':
      return 'context-length'
    case 'invalid_request_error':
      return isContextLengthMessage(message) ? 'context-length' : 'bad-request'
    default:
      return 'server'
  }
}

const RETRYABLE_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error'])

/** An error event inside a 200 stream. Retryable only while nothing has been yielded. */
export function streamError(data: unknown, produced: boolean): ProviderError {
  const error = (data as { error?: { type?: unknown; message?: unknown } } | undefined)?.error
  const type = typeof error?.type === 'string' ? error.type : undefined
  const message = typeof error?.message === 'string' ? error.message : JSON.stringify(data).slice(0, 300)
  const kind = errorKind(type, message)
  return new ProviderError(
    kind,
    `${PROVIDER}: error inside the stream${type ? ` (${type})` : ''}: ${message}`,
    {
      provider: PROVIDER,
      retryable: !produced && type !== undefined && RETRYABLE_TYPES.has(type),
    },
  )
}

interface ToolBlock {
  readonly kind: 'tool'
  readonly id: string
  readonly name: string
  /** Input given whole in content_block_start (proxies do this); streamed JSON wins. */
  readonly initial: unknown
  json: string
}

type Block = ToolBlock | { readonly kind: 'text' | 'thinking' | 'other' }

function badResponse(what: string): ProviderError {
  return new ProviderError('bad-response', `${PROVIDER}: ${what}`, { provider: PROVIDER, retryable: false })
}

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

const TEXT_DELTA_HEAD = '{"type":"content_block_delta","index":'
const TEXT_DELTA_BODY = ',"delta":{"type":"text_delta","text":"'
const TEXT_DELTA_TAIL = '"}}'
const BLOCK_STOP_HEAD = '{"type":"content_block_stop","index":'
const MESSAGE_STOP = '{"type":"message_stop"}'

/** The digits of an index at `from` up to `end` (exclusive), or -1. */
function indexAt(data: string, from: number, end: number): number {
  if (end <= from || end - from > 9) return -1
  let index = 0
  for (let i = from; i < end; i++) {
    const digit = data.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    index = index * 10 + digit
  }
  return index
}

/**
 * The text of a text_delta event written exactly as the API writes it
 * (`{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}`), or
 * undefined for any other form, which is then parsed whole. Escapes in the text are decoded by
 * JSON.parse of the string alone; a text that does not parse as a string falls back too.
 */
export function plainTextDelta(data: string): string | undefined {
  if (!data.startsWith(TEXT_DELTA_HEAD) || !data.endsWith(TEXT_DELTA_TAIL)) return undefined
  const comma = data.indexOf(',', TEXT_DELTA_HEAD.length)
  if (indexAt(data, TEXT_DELTA_HEAD.length, comma) < 0 || !data.startsWith(TEXT_DELTA_BODY, comma))
    return undefined
  const start = comma + TEXT_DELTA_BODY.length
  const end = data.length - TEXT_DELTA_TAIL.length
  return jsonStringAt(data, start, end)
}

/** The index of a content_block_stop event in the API's exact form, or undefined. */
export function plainBlockStop(data: string): number | undefined {
  if (!data.startsWith(BLOCK_STOP_HEAD) || data.charCodeAt(data.length - 1) !== 125 /* } */) return undefined
  const index = indexAt(data, BLOCK_STOP_HEAD.length, data.length - 1)
  return index < 0 ? undefined : index
}

export interface ReadOptions {
  /** A stable, unique id for a tool_use block that came without one. */
  readonly newToolCallId: () => string
  /** Told about blocks and events this provider does not turn into StreamEvents. */
  readonly note?: (message: string) => void
  /** Checked between events: an abort stops the reading at once. */
  readonly signal?: AbortSignal | undefined
}

/**
 * Reads the stream to its end (so the connection can be reused) and yields its events. Throws
 * ProviderErrors: for an error event, for JSON that does not parse, for a stream that ends
 * before message_stop. An error is `retryable` only while nothing has been yielded, so a caller
 * may send the request again on `retryable` alone.
 */
export function readMessagesStream(
  body: AsyncIterable<Uint8Array>,
  options: ReadOptions,
): AsyncIterable<StreamEvent> {
  return streamEvents(async () => messagesSource(body, options))
}

/** How an answer's body is read (see streamEvents): SSE events, then messagesReader. */
export function messagesSource(
  body: AsyncIterable<Uint8Array>,
  options: ReadOptions,
): EventSource<SseEvent, StreamEvent> {
  return { body, parser: new SseParser(), reader: messagesReader(options) }
}

/**
 * The reader of one answer (see streamEvents): each network chunk's SSE events are handled
 * synchronously, adjacent deltas merged (pushEvent).
 */
function messagesReader(options: ReadOptions): EventReader<SseEvent, StreamEvent> {
  const blocks = new Map<number, Block>()
  let input = 0
  let cacheRead: number | undefined
  let cacheWrite: number | undefined
  let output = 0
  let thinkingTokens: number | undefined
  let stopReason: string | undefined
  let started = false
  let messageId: string | undefined
  let stopped = false
  let produced = false

  const usage = (raw: Record<string, unknown> | undefined) => {
    if (!raw) return
    input = count(raw.input_tokens) ?? input
    cacheRead = count(raw.cache_read_input_tokens) ?? cacheRead
    cacheWrite = count(raw.cache_creation_input_tokens) ?? cacheWrite
    output = count(raw.output_tokens) ?? output
    const details = raw.output_tokens_details as { thinking_tokens?: unknown } | null | undefined
    thinkingTokens = count(details?.thinking_tokens) ?? thinkingTokens
  }

  return { read, end }
  function textDelta(text: string, out: StreamEvent[]): void {
    if (text === '') return
    if (!produced) produce(out)
    pushEvent(out, { type: 'text-delta', text })
  }
  /**
   * The answer's first event: message-start (the id and the input usage of message_start) goes
   * out before it, in the same batch, so an error before any content stays retryable.
   */
  function produce(out: StreamEvent[]): void {
    produced = true
    const start: Usage = { inputTokens: input + (cacheRead ?? 0) + (cacheWrite ?? 0), outputTokens: output }
    if (cacheRead !== undefined) start.cacheReadTokens = cacheRead
    if (cacheWrite !== undefined) start.cacheWriteTokens = cacheWrite
    out.push({ type: 'message-start', ...(messageId === undefined ? {} : { id: messageId }), usage: start })
  }
  function read(batch: readonly SseEvent[], out: StreamEvent[]): void {
    for (const sse of batch) {
      if (options.signal?.aborted) {
        throw new ProviderError('aborted', `${PROVIDER}: request aborted`, {
          provider: PROVIDER,
          retryable: false,
        })
      }
      if (stopped) continue
      if (sse.event === 'ping') continue
      // Most of an answer's events are text deltas, and each ends with two small ones: read those
      // without JSON.parse when they are exactly in the API's form (anything else goes below).
      if (started) {
        if (sse.event === 'content_block_delta') {
          const text = plainTextDelta(sse.data)
          if (text !== undefined) {
            textDelta(text, out)
            continue
          }
        } else if (sse.event === 'content_block_stop') {
          const index = plainBlockStop(sse.data)
          if (index !== undefined && blocks.get(index)?.kind !== 'tool') {
            blocks.delete(index)
            continue
          }
        } else if (sse.event === 'message_stop' && sse.data === MESSAGE_STOP) {
          stopped = true
          continue
        }
      }
      let data: Record<string, unknown>
      try {
        data = JSON.parse(sse.data) as Record<string, unknown>
      } catch {
        throw badResponse(`a streamed event is not JSON: ${sse.data.slice(0, 200)}`)
      }
      if (typeof data !== 'object' || data === null) throw badResponse(`a streamed event is not an object`)
      const type = typeof data.type === 'string' ? data.type : sse.event
      if (sse.event === 'error' || type === 'error') throw streamError(data, produced)
      if (!started && type !== 'message_start')
        throw badResponse(`the stream does not begin with message_start (got '${type}')`)

      switch (type) {
        case 'message_start': {
          started = true
          const message = data.message as { usage?: Record<string, unknown>; id?: unknown } | undefined
          if (typeof message?.id === 'string' && message.id !== '') messageId = message.id
          usage(message?.usage)
          break
        }
        case 'content_block_start': {
          const index = Number(data.index)
          const block = (data.content_block ?? {}) as Record<string, unknown>
          if (block.type === 'tool_use') {
            const id = typeof block.id === 'string' && block.id !== '' ? block.id : options.newToolCallId()
            const name = typeof block.name === 'string' ? block.name : ''
            blocks.set(index, { kind: 'tool', id, name, initial: block.input, json: '' })
            if (!produced) produce(out)
            pushEvent(out, { type: 'tool-call-start', id, name })
          } else if (block.type === 'text') {
            blocks.set(index, { kind: 'text' })
            if (typeof block.text === 'string' && block.text !== '') {
              if (!produced) produce(out)
              pushEvent(out, { type: 'text-delta', text: block.text })
            }
          } else if (block.type === 'thinking') {
            blocks.set(index, { kind: 'thinking' })
            if (typeof block.thinking === 'string' && block.thinking !== '') {
              if (!produced) produce(out)
              pushEvent(out, { type: 'reasoning-delta', text: block.thinking })
            }
          } else if (block.type === 'redacted_thinking') {
            blocks.set(index, { kind: 'other' })
            if (typeof block.data === 'string') {
              if (!produced) produce(out)
              pushEvent(out, { type: 'reasoning-delta', text: '', signature: block.data, redacted: true })
            }
          } else {
            blocks.set(index, { kind: 'other' })
            options.note?.(`ignored a '${String(block.type)}' content block`)
          }
          break
        }
        case 'content_block_delta': {
          const block = blocks.get(Number(data.index))
          const delta = (data.delta ?? {}) as Record<string, unknown>
          if (delta.type === 'text_delta' && typeof delta.text === 'string') {
            textDelta(delta.text, out)
          } else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') {
            if (delta.thinking === '') break
            if (!produced) produce(out)
            pushEvent(out, { type: 'reasoning-delta', text: delta.thinking })
          } else if (delta.type === 'signature_delta' && typeof delta.signature === 'string') {
            if (!produced) produce(out)
            pushEvent(out, { type: 'reasoning-delta', text: '', signature: delta.signature })
          } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
            if (block?.kind !== 'tool')
              throw badResponse('input_json_delta for a block that is not a tool_use')
            block.json += delta.partial_json
            if (delta.partial_json !== '') {
              if (!produced) produce(out)
              pushEvent(out, { type: 'tool-call-delta', id: block.id, argumentsDelta: delta.partial_json })
            }
          }
          break
        }
        case 'content_block_stop': {
          const index = Number(data.index)
          const block = blocks.get(index)
          if (block?.kind === 'tool') {
            const raw = block.json !== '' ? block.json : block.initial
            const parsed = parseToolArguments(raw)
            if (!produced) produce(out)
            pushEvent(
              out,
              parsed.ok
                ? { type: 'tool-call-end', id: block.id, name: block.name, input: parsed.value }
                : {
                    type: 'tool-call-end',
                    id: block.id,
                    name: block.name,
                    input: typeof raw === 'string' ? raw : JSON.stringify(raw),
                    inputError: parsed.error,
                  },
            )
          }
          blocks.delete(index)
          break
        }
        case 'message_delta': {
          const delta = (data.delta ?? {}) as { stop_reason?: unknown }
          if (typeof delta.stop_reason === 'string') stopReason = delta.stop_reason
          usage(data.usage as Record<string, unknown> | undefined)
          break
        }
        case 'message_stop': {
          stopped = true
          break
        }
        default:
          options.note?.(`ignored a '${type}' event`)
      }
    }
  }
  function end(out: StreamEvent[]): void {
    if (!stopped) {
      throw new ProviderError(
        'connection',
        `${PROVIDER}: the stream ended before message_stop${started ? '' : ' (no message_start either)'}`,
        { provider: PROVIDER, retryable: !produced },
      )
    }
    // Anthropic counts cached input apart; tau's inputTokens is the whole prompt (see README).
    const total: Usage = { inputTokens: input + (cacheRead ?? 0) + (cacheWrite ?? 0), outputTokens: output }
    if (cacheRead !== undefined) total.cacheReadTokens = cacheRead
    if (cacheWrite !== undefined) total.cacheWriteTokens = cacheWrite
    if (thinkingTokens !== undefined) total.reasoningTokens = thinkingTokens
    if (stopReason !== undefined && !(stopReason in STOP_REASONS))
      options.note?.(`unknown stop_reason '${stopReason}'`)
    // An answer without content still had its message_start.
    if (!produced) produce(out)
    out.push(
      { type: 'usage', usage: total },
      {
        type: 'finish',
        reason: (stopReason && STOP_REASONS[stopReason]) || 'stop',
        ...(messageId === undefined ? {} : { id: messageId }),
      },
    )
  }
}
