/**
 * A model script: what a scripted model answers, call after call. The same script drives the
 * in-process `scripted` provider and the loopback servers that speak each provider's real wire
 * format (see server.ts), so a test can run a conversation against either.
 */
import type { FinishReason, StreamEvent, Usage } from '../../kernel/index.js'

export interface ScriptToolCall {
  /** Sent as the call id where the wire format carries one; generated where it is left out. */
  readonly id?: string
  readonly name: string
  readonly input?: Readonly<Record<string, unknown>>
  /** Exact argument text instead of JSON.stringify(input): for broken-JSON tests. */
  readonly rawArguments?: string
}

export interface ScriptTurn {
  readonly reasoning?: string
  readonly text?: string
  readonly toolCalls?: readonly ScriptToolCall[]
  readonly usage?: Usage
  /** Default: 'tool-calls' when there are tool calls, else 'stop'. */
  readonly finishReason?: FinishReason

  // What the loopback servers do on the wire (ignored by the in-process provider unless noted).
  /** Answer with this HTTP status and `errorMessage` in the provider's error shape. Also thrown in-process. */
  readonly status?: number
  readonly errorMessage?: string
  readonly headers?: Readonly<Record<string, string>>
  /** After the normal output, an error inside the 200 stream (as Ollama and Anthropic send them). */
  readonly streamError?: string
  /** Send exactly this body (malformed-answer tests). */
  readonly raw?: string
  /** Wait before the response headers. */
  readonly firstByteDelayMs?: number
  /** Wait between chunks. */
  readonly chunkDelayMs?: number
  /** Re-cut the body into pieces of this many bytes, ignoring event boundaries. */
  readonly chunkBytes?: number
  /** Destroy the connection after this many body bytes. */
  readonly dropAfterBytes?: number
  /** Split text and reasoning into deltas of this many characters (default 8). */
  readonly deltaChars?: number
}

export interface Script {
  readonly turns: readonly ScriptTurn[]
}

export function finishReasonOf(turn: ScriptTurn): FinishReason {
  return turn.finishReason ?? ((turn.toolCalls?.length ?? 0) > 0 ? 'tool-calls' : 'stop')
}

/** Cuts text into deltas of `size` characters (never splitting a surrogate pair). */
export function deltas(text: string, size = 8): string[] {
  const chars = Array.from(text)
  const out: string[] = []
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''))
  return out
}

export function argumentsText(call: ScriptToolCall): string {
  return call.rawArguments ?? JSON.stringify(call.input ?? {})
}

/** The normalized events a turn stands for: what every provider should yield for it. */
export function* turnEvents(
  turn: ScriptTurn,
  idFor: (call: ScriptToolCall, index: number) => string,
): Generator<StreamEvent> {
  const size = turn.deltaChars ?? 8
  if (turn.reasoning) for (const text of deltas(turn.reasoning, size)) yield { type: 'reasoning-delta', text }
  if (turn.text) for (const text of deltas(turn.text, size)) yield { type: 'text-delta', text }
  for (const [index, call] of (turn.toolCalls ?? []).entries()) {
    const id = idFor(call, index)
    yield { type: 'tool-call-start', id, name: call.name }
    yield { type: 'tool-call-delta', id, argumentsDelta: argumentsText(call) }
    yield { type: 'tool-call-end', id, name: call.name, input: call.input ?? {} }
  }
  yield { type: 'usage', usage: turn.usage ?? { inputTokens: 0, outputTokens: 0 } }
  yield { type: 'finish', reason: finishReasonOf(turn) }
}
