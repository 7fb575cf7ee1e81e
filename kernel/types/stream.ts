/**
 * What a model call produces: a stream of normalized events (the primary form) or, collected, a
 * ModelResponse. Every provider maps its wire format to these.
 */
import type { AssistantMessage, Message } from './message.js'
import type { FinishReason, ModelRef, Usage } from './model.js'
import type { JsonSchema, ToolDefinition } from './tool.js'

export type StreamEvent =
  | { readonly type: 'text-delta'; readonly text: string }
  | {
      readonly type: 'reasoning-delta'
      readonly text: string
      /** Signature to send back with this reasoning (closes the current reasoning part). */
      readonly signature?: string
      /** Reasoning the provider returned encrypted: its opaque data is in `signature`. */
      readonly redacted?: boolean
    }
  | { readonly type: 'tool-call-start'; readonly id: string; readonly name: string }
  | { readonly type: 'tool-call-delta'; readonly id: string; readonly argumentsDelta: string }
  | {
      readonly type: 'tool-call-end'
      readonly id: string
      readonly name: string
      /** Parsed arguments, or the raw text when inputError is set. */
      readonly input: unknown
      /** The arguments were not valid JSON and could not be repaired. */
      readonly inputError?: string
    }
  | { readonly type: 'usage'; readonly usage: Usage }
  | {
      readonly type: 'finish'
      readonly reason: FinishReason
      /** The provider's id of the message (Anthropic's `msg_...`), where it sends one. */
      readonly id?: string
    }
  | {
      /**
       * Optional, once per answer, just before its first content event (so it never holds back a
       * retry; for an answer without content, before its usage): the provider's message id and the
       * usage it knew at the start (Anthropic's input tokens), where it sends them. Not a token:
       * time to first token ignores it.
       */
      readonly type: 'message-start'
      readonly id?: string
      readonly usage?: Usage
    }

/** A request for one model call. The conversation is passed whole: it is a value that lives across turns. */
export interface ModelRequest {
  readonly model: ModelRef
  readonly messages: readonly Message[]
  readonly tools?: readonly ToolDefinition[]
  /** 'auto' (default), 'none', 'required', or a tool name the model must call. */
  readonly toolChoice?: 'auto' | 'none' | 'required' | { readonly name: string }
  readonly maxOutputTokens?: number
  readonly temperature?: number
  readonly topP?: number
  readonly stop?: readonly string[]
  /** Ask for reasoning output, where the model supports it. */
  readonly reasoning?:
    | boolean
    | { readonly budgetTokens?: number; readonly effort?: 'low' | 'medium' | 'high' }
  /** Constrain the answer to JSON matching this schema. */
  readonly responseFormat?: { readonly type: 'json'; readonly schema?: JsonSchema; readonly name?: string }
  /** Provider-specific options, passed through by the provider that understands them. */
  readonly providerOptions?: { readonly [provider: string]: { readonly [key: string]: unknown } }
}

export interface ModelResponse {
  readonly model: ModelRef
  readonly message: AssistantMessage
  readonly usage: Usage
  readonly finishReason: FinishReason
  /** The provider's id of the message, where it sends one. */
  readonly id?: string
}

export interface EmbeddingRequest {
  readonly model: ModelRef
  readonly input: readonly string[]
  readonly dimensions?: number
}

export interface EmbeddingResponse {
  readonly model: ModelRef
  /** One vector per input, in input order. */
  readonly embeddings: readonly (readonly number[])[]
  readonly usage?: Pick<Usage, 'inputTokens'>
}

/**
 * Folds a stream into a ModelResponse. Providers use it for their non-streaming call, so both
 * forms always agree.
 */
export async function collectStream(
  model: ModelRef,
  events: AsyncIterable<StreamEvent>,
): Promise<ModelResponse> {
  const content: Array<AssistantMessage['content'][number]> = []
  let text = ''
  let reasoning = ''
  let signature: string | undefined
  let usage: Usage = { inputTokens: 0, outputTokens: 0 }
  let finishReason: FinishReason = 'stop'
  let id: string | undefined
  const flushText = () => {
    if (text !== '') content.push({ type: 'text', text })
    text = ''
  }
  const flushReasoning = () => {
    if (reasoning !== '' || signature !== undefined) {
      content.push(
        signature === undefined
          ? { type: 'reasoning', text: reasoning }
          : { type: 'reasoning', text: reasoning, signature },
      )
    }
    reasoning = ''
    signature = undefined
  }
  for await (const event of events) {
    switch (event.type) {
      case 'text-delta':
        flushReasoning()
        text += event.text
        break
      case 'reasoning-delta':
        flushText()
        if (event.redacted) {
          flushReasoning()
          content.push({
            type: 'reasoning',
            text: event.text,
            signature: event.signature ?? '',
            redacted: true,
          })
          break
        }
        // A signature closes a reasoning block: reasoning after it is a new block.
        if (signature !== undefined) flushReasoning()
        reasoning += event.text
        if (event.signature !== undefined) signature = event.signature
        break
      case 'tool-call-end':
        flushReasoning()
        flushText()
        content.push(
          event.inputError === undefined
            ? { type: 'tool-call', id: event.id, name: event.name, input: event.input }
            : {
                type: 'tool-call',
                id: event.id,
                name: event.name,
                input: event.input,
                inputError: event.inputError,
              },
        )
        break
      case 'usage':
        usage = event.usage
        break
      case 'finish':
        finishReason = event.reason
        if (event.id !== undefined) id = event.id
        break
      default:
        break
    }
  }
  flushReasoning()
  flushText()
  const response = { model, message: { role: 'assistant' as const, content }, usage, finishReason }
  return id === undefined ? response : { ...response, id }
}
