/**
 * `--include-partial-messages`: the agent's `model-stream` events (the provider's stream, in
 * tau's normalized form) as the Anthropic Messages API's stream events, whatever the provider:
 * `message_start`, `content_block_start` / `_delta` / `_stop` with the index each block has in
 * the final message, `message_delta`, `message_stop`. Claude Code prints these inside its
 * `stream_event` lines; an OpenAI or Ollama stream gets the same shape, so a consumer written
 * for one reads all. message_start waits for the provider's first event: its `message-start`
 * gives the provider's message id and input usage (Anthropic's; OpenAI's id).
 */
import { randomUUID } from 'node:crypto'
import type { StreamEvent, Usage } from '../../kernel/index.js'

export type AnthropicStreamEvent = Record<string, unknown> & { readonly type: string }

/** One model call's message as it streams: the open block, and each tool call's block index. */
interface OpenMessage {
  /** tau's until the provider's `message-start` gives its own. */
  id: string
  readonly model: string
  /** message_start is printed (at the provider's first event, which may carry its id and usage). */
  started: boolean
  /** The next block's index. */
  next: number
  /** The open text or thinking block. */
  current: { readonly kind: 'text' | 'thinking'; readonly index: number } | undefined
  /** Open tool_use blocks by call id. */
  readonly tools: Map<string, number>
}

const emptyUsage = (): Record<string, number> => ({
  input_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: 0,
})

/** Anthropic-style usage, as Claude Code reports it (input_tokens without the cached parts). */
export function wireUsage(usage: Usage): Record<string, number> {
  return {
    input_tokens: Math.max(
      0,
      usage.inputTokens - (usage.cacheReadTokens ?? 0) - (usage.cacheWriteTokens ?? 0),
    ),
    cache_creation_input_tokens: usage.cacheWriteTokens ?? 0,
    cache_read_input_tokens: usage.cacheReadTokens ?? 0,
    output_tokens: usage.outputTokens,
  }
}

/** Maps each session's model-stream events (a subagent's are its own session's) to stream events. */
export class PartialMessages {
  private readonly open = new Map<string, OpenMessage>()

  /** The id of the session's message in flight (its assistant line carries it when the provider sent none). */
  messageId(sessionId: string): string | undefined {
    return this.open.get(sessionId)?.id
  }

  /** The stream events one model-stream event stands for (often one, sometimes none or several). */
  map(
    sessionId: string,
    model: string,
    event: StreamEvent | { readonly type: 'call-start' },
  ): AnthropicStreamEvent[] {
    const out: AnthropicStreamEvent[] = []
    if (event.type === 'call-start') {
      // A call that failed midway (the fallback model answers next) never got its message_stop.
      if (this.open.get(sessionId)?.started) out.push(...this.stopMessage(sessionId))
      const id = `msg_${randomUUID().replaceAll('-', '')}`
      this.open.set(sessionId, { id, model, started: false, next: 0, current: undefined, tools: new Map() })
      return out
    }
    const message = this.open.get(sessionId)
    if (!message) return out
    if (!message.started) {
      // The provider's first event: message_start, with the provider's id and input usage where
      // its message-start gave them (Anthropic; OpenAI's id), else tau's id and zero usage.
      const start = event.type === 'message-start' ? event : undefined
      if (start?.id !== undefined) message.id = start.id
      out.push(this.startMessage(message, start?.usage))
      if (start) return out
    }
    switch (event.type) {
      case 'text-delta':
        if (event.text === '') break
        this.enter(message, 'text', out)
        out.push(delta(message, { type: 'text_delta', text: event.text }))
        break
      case 'reasoning-delta':
        if (event.redacted) {
          this.close(message, out)
          const index = message.next++
          out.push(
            {
              type: 'content_block_start',
              index,
              content_block: { type: 'redacted_thinking', data: event.signature ?? '' },
            },
            { type: 'content_block_stop', index },
          )
          break
        }
        if (event.text === '' && event.signature === undefined) break
        this.enter(message, 'thinking', out)
        if (event.text !== '') out.push(delta(message, { type: 'thinking_delta', thinking: event.text }))
        if (event.signature !== undefined) {
          // A signature ends its thinking block (reasoning after it is a new one, as in the message).
          out.push(delta(message, { type: 'signature_delta', signature: event.signature }))
          this.close(message, out)
        }
        break
      case 'tool-call-start':
        this.startTool(message, event.id, event.name, out)
        break
      case 'tool-call-delta': {
        const index = message.tools.get(event.id) ?? this.startTool(message, event.id, '', out)
        out.push({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: event.argumentsDelta },
        })
        break
      }
      case 'tool-call-end': {
        let index = message.tools.get(event.id)
        if (index === undefined) {
          // A provider that sends a tool call whole (Ollama): its input as one delta.
          index = this.startTool(message, event.id, event.name, out)
          const json = typeof event.input === 'string' ? event.input : JSON.stringify(event.input ?? {})
          out.push({
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json: json },
          })
        }
        message.tools.delete(event.id)
        out.push({ type: 'content_block_stop', index })
        break
      }
      default:
        // usage and finish: message_delta carries them once the message is complete (finish()).
        break
    }
    return out
  }

  /** The model's answer is complete: open blocks stop, then message_delta and message_stop. */
  finish(
    sessionId: string,
    stopReason: string | null,
    usage: Record<string, number>,
  ): AnthropicStreamEvent[] {
    const message = this.open.get(sessionId)
    if (!message) return []
    // An answer whose provider sent no event before its end still opens with message_start.
    const start = message.started ? [] : [this.startMessage(message, undefined)]
    return [...start, ...this.stopMessage(sessionId, { stop_reason: stopReason, usage })]
  }

  private startMessage(message: OpenMessage, usage: Usage | undefined): AnthropicStreamEvent {
    message.started = true
    return {
      type: 'message_start',
      message: {
        id: message.id,
        type: 'message',
        role: 'assistant',
        model: message.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage === undefined ? emptyUsage() : wireUsage(usage),
      },
    }
  }

  private stopMessage(
    sessionId: string,
    end: { stop_reason: string | null; usage: Record<string, number> } = {
      stop_reason: null,
      usage: emptyUsage(),
    },
  ): AnthropicStreamEvent[] {
    const message = this.open.get(sessionId)
    this.open.delete(sessionId)
    if (!message?.started) return []
    const out: AnthropicStreamEvent[] = []
    this.close(message, out)
    for (const index of message.tools.values()) out.push({ type: 'content_block_stop', index })
    out.push(
      {
        type: 'message_delta',
        delta: { stop_reason: end.stop_reason, stop_sequence: null },
        usage: end.usage,
      },
      { type: 'message_stop' },
    )
    return out
  }

  /** Opens a text or thinking block unless one of that kind is open. */
  private enter(message: OpenMessage, kind: 'text' | 'thinking', out: AnthropicStreamEvent[]): void {
    if (message.current?.kind === kind) return
    this.close(message, out)
    const index = message.next++
    message.current = { kind, index }
    out.push({
      type: 'content_block_start',
      index,
      content_block:
        kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' },
    })
  }

  /** Stops the open text or thinking block. */
  private close(message: OpenMessage, out: AnthropicStreamEvent[]): void {
    if (!message.current) return
    out.push({ type: 'content_block_stop', index: message.current.index })
    message.current = undefined
  }

  private startTool(message: OpenMessage, id: string, name: string, out: AnthropicStreamEvent[]): number {
    this.close(message, out)
    const index = message.next++
    message.tools.set(id, index)
    out.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } })
    return index
  }
}

function delta(message: OpenMessage, body: Record<string, unknown>): AnthropicStreamEvent {
  return { type: 'content_block_delta', index: message.current?.index ?? 0, delta: body }
}
