/**
 * Messages: system, user, assistant and tool roles. Tool calls are parts of an assistant message
 * and tool results are parts of a tool message, so one conversation value carries a whole agent
 * exchange and every provider maps it to its own wire format.
 */

export interface TextPart {
  readonly type: 'text'
  readonly text: string
}

export interface ImagePart {
  readonly type: 'image'
  /** e.g. image/png */
  readonly mediaType: string
  /** Base64 data, or a URL where the provider accepts one. */
  readonly data?: string
  readonly url?: string
}

export interface ReasoningPart {
  readonly type: 'reasoning'
  readonly text: string
  /** Provider signature that must be sent back unchanged (Anthropic thinking blocks). */
  readonly signature?: string
  /** Reasoning the provider returned encrypted (redacted thinking). */
  readonly redacted?: boolean
}

export interface ToolCallPart {
  readonly type: 'tool-call'
  /** Unique within the conversation; providers without ids get stable generated ones. */
  readonly id: string
  readonly name: string
  /** Parsed arguments; the raw argument text when they could not be parsed (see inputError). */
  readonly input: unknown
  /**
   * Set when the model sent arguments that are not valid JSON and could not be repaired: the
   * agent answers the call with this error instead of running the tool, and the model retries.
   */
  readonly inputError?: string
}

export type ToolResultContent = TextPart | ImagePart

export interface ToolResultPart {
  readonly type: 'tool-result'
  /** The id of the tool call this answers. */
  readonly toolCallId: string
  readonly toolName: string
  readonly content: readonly ToolResultContent[]
  readonly isError?: boolean
  /** Machine-readable result, where the tool gives one (MCP structuredContent). */
  readonly structured?: unknown
}

export interface SystemMessage {
  readonly role: 'system'
  readonly content: string
}

export interface UserMessage {
  readonly role: 'user'
  readonly content: string | readonly (TextPart | ImagePart)[]
}

export interface AssistantMessage {
  readonly role: 'assistant'
  readonly content: readonly (TextPart | ReasoningPart | ToolCallPart)[]
}

export interface ToolMessage {
  readonly role: 'tool'
  readonly content: readonly ToolResultPart[]
}

export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage
export type Role = Message['role']

export function textOf(message: Message): string {
  if (typeof message.content === 'string') return message.content
  const parts: string[] = []
  for (const part of message.content) {
    if (part.type === 'text') parts.push(part.text)
    else if (part.type === 'tool-result')
      for (const c of part.content) if (c.type === 'text') parts.push(c.text)
  }
  return parts.join('')
}

export function toolCallsOf(message: Message): ToolCallPart[] {
  if (message.role !== 'assistant') return []
  return message.content.filter((part): part is ToolCallPart => part.type === 'tool-call')
}

export const system = (content: string): SystemMessage => ({ role: 'system', content })
export const user = (content: UserMessage['content']): UserMessage => ({ role: 'user', content })
export const assistant = (content: string | AssistantMessage['content']): AssistantMessage => ({
  role: 'assistant',
  content: typeof content === 'string' ? [{ type: 'text', text: content }] : content,
})
export const toolResult = (
  call: Pick<ToolCallPart, 'id' | 'name'>,
  content: string | readonly ToolResultContent[],
  isError = false,
): ToolResultPart => ({
  type: 'tool-result',
  toolCallId: call.id,
  toolName: call.name,
  content: typeof content === 'string' ? [{ type: 'text', text: content }] : content,
  ...(isError ? { isError: true } : {}),
})
