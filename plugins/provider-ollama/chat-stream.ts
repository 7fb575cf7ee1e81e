/**
 * Ollama's /api/chat NDJSON stream as normalized StreamEvents.
 *
 * Each line is one JSON object: `message.thinking` and `message.content` are deltas,
 * `message.tool_calls` holds whole calls (arguments already an object, usually no id), and the
 * last line has `done: true` with `done_reason` and the token counts. An error after output began
 * arrives as a `{"error": "..."}` line in the same 200 stream.
 */
import type { FinishReason, StreamEvent, Usage } from '../../kernel/index.js'
import {
  type EventReader,
  type EventSource,
  isContextLengthMessage,
  NdjsonLines,
  ProviderError,
  parseNdjsonLine,
  parseToolArguments,
  pushEvent,
  streamEvents,
} from '../providers/index.js'

const PROVIDER = 'ollama'
const PLUGIN = 'provider-ollama'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0
}

/** An `{"error": "..."}` line inside a 200 stream. */
export function streamError(message: string): ProviderError {
  const contextLength = isContextLengthMessage(message)
  return new ProviderError(
    contextLength ? 'context-length' : 'server',
    `ollama: ${contextLength ? 'request too long for the model' : 'the model failed while answering'}: ${message}`,
    { provider: PROVIDER, plugin: PLUGIN, retryable: false },
  )
}

export interface ChatStreamOptions {
  /** A fresh id for a tool call that came without one. */
  readonly nextId: () => string
  readonly signal?: AbortSignal | undefined
}

/** The events of an /api/chat answer's body. */
export function readChatStream(
  body: AsyncIterable<Uint8Array>,
  options: ChatStreamOptions,
): AsyncIterable<StreamEvent> {
  return streamEvents(async () => chatSource(body, options))
}

/** How an answer's body is read (see streamEvents): NDJSON lines, then chatReader. */
export function chatSource(
  body: AsyncIterable<Uint8Array>,
  options: ChatStreamOptions,
): EventSource<string, StreamEvent> {
  return { body, parser: new NdjsonLines(), reader: chatReader(options) }
}

/**
 * The reader of one answer (see streamEvents): a network chunk's lines are handled at once, and
 * the deltas among them merged (pushEvent).
 */
function chatReader(options: ChatStreamOptions): EventReader<string, StreamEvent> {
  const seenIds = new Set<string>()
  let sawToolCall = false
  let final: { usage: Usage; reason: FinishReason } | undefined
  return {
    read(lines, out) {
      for (const text of lines) {
        // Anything after the final line is not part of this answer, an error line included.
        if (final) continue
        const line = parseNdjsonLine(text, PROVIDER)
        if (options.signal?.aborted) {
          throw new ProviderError('aborted', 'ollama: request aborted', {
            provider: PROVIDER,
            plugin: PLUGIN,
            retryable: false,
          })
        }
        if (!isObject(line)) {
          throw new ProviderError(
            'bad-response',
            `ollama: a streamed line is not an object: ${JSON.stringify(line).slice(0, 200)}`,
            { provider: PROVIDER, plugin: PLUGIN, retryable: false },
          )
        }
        if (line.error !== undefined) {
          throw streamError(typeof line.error === 'string' ? line.error : JSON.stringify(line.error))
        }
        const message = isObject(line.message) ? line.message : undefined
        if (message) {
          if (typeof message.thinking === 'string' && message.thinking !== '') {
            pushEvent(out, { type: 'reasoning-delta', text: message.thinking })
          }
          if (typeof message.content === 'string' && message.content !== '') {
            pushEvent(out, { type: 'text-delta', text: message.content })
          }
          if (Array.isArray(message.tool_calls)) {
            for (const call of message.tool_calls) {
              const fn = isObject(call) && isObject(call.function) ? call.function : undefined
              if (!fn) continue
              const wireId = isObject(call) && typeof call.id === 'string' ? call.id : ''
              const id = wireId !== '' && !seenIds.has(wireId) ? wireId : options.nextId()
              seenIds.add(id)
              const name = typeof fn.name === 'string' ? fn.name : ''
              sawToolCall = true
              out.push({ type: 'tool-call-start', id, name })
              const args = fn.arguments
              const text = typeof args === 'string' ? args : JSON.stringify(args ?? {})
              out.push({ type: 'tool-call-delta', id, argumentsDelta: text })
              const parsed = parseToolArguments(args)
              out.push(
                parsed.ok
                  ? { type: 'tool-call-end', id, name, input: parsed.value }
                  : { type: 'tool-call-end', id, name, input: text, inputError: parsed.error },
              )
            }
          }
        }
        if (line.done === true) {
          const reason: FinishReason =
            line.done_reason === 'length' ? 'length' : sawToolCall ? 'tool-calls' : 'stop'
          final = {
            usage: { inputTokens: count(line.prompt_eval_count), outputTokens: count(line.eval_count) },
            reason,
          }
        }
      }
    },
    // Read to the end before finishing, so the connection goes back to the pool for the next call.
    end(out) {
      if (!final) {
        throw new ProviderError('bad-response', 'ollama: the answer ended without its final `done` line', {
          provider: PROVIDER,
          plugin: PLUGIN,
          retryable: false,
        })
      }
      out.push({ type: 'usage', usage: final.usage }, { type: 'finish', reason: final.reason })
    },
  }
}
