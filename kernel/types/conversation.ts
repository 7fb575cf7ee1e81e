/**
 * A conversation is a value that lives across turns: an immutable list of messages. Appending
 * returns a new conversation, so a turn can be retried, forked or compared without copies going
 * stale, and a transcript can rebuild it exactly.
 */
import type { Message, ToolCallPart } from './message.js'
import { toolCallsOf } from './message.js'

export class Conversation {
  readonly messages: readonly Message[]

  /** @param owned the array is this conversation's alone (made for it), so it is frozen as it is. */
  private constructor(messages: readonly Message[], owned = false) {
    this.messages = Object.freeze(owned ? messages : [...messages])
  }

  static of(messages: readonly Message[] = []): Conversation {
    return new Conversation(messages)
  }

  get length(): number {
    return this.messages.length
  }

  append(...messages: Message[]): Conversation {
    // One copy: the conversation is appended to twice a turn, and it holds every message.
    return new Conversation(this.messages.concat(messages), true)
  }

  last(): Message | undefined {
    return this.messages[this.messages.length - 1]
  }

  /** Tool calls of the last assistant message that have no result yet. */
  pendingToolCalls(): ToolCallPart[] {
    const answered = new Set<string>()
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const message = this.messages[i]!
      if (message.role === 'tool') for (const part of message.content) answered.add(part.toolCallId)
      else if (message.role === 'assistant')
        return toolCallsOf(message).filter((call) => !answered.has(call.id))
      else return []
    }
    return []
  }

  /** True when every tool call has its result: the state a provider will accept. */
  isComplete(): boolean {
    const calls = new Set<string>()
    for (const message of this.messages) {
      for (const call of toolCallsOf(message)) calls.add(call.id)
      if (message.role === 'tool') for (const part of message.content) calls.delete(part.toolCallId)
    }
    return calls.size === 0
  }

  toJSON(): readonly Message[] {
    return this.messages
  }
}
