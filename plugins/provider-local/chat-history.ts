/**
 * tau's conversation as node-llama-cpp's chat history. Tool calls become `functionCall` items of
 * the model's turn with the tool's result attached, so the model's chat wrapper renders them in
 * its own syntax; a conversation that ends with tool results continues the model's turn.
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from 'node-llama-cpp'
import { type Message, textOf } from '../../kernel/index.js'

type ModelItem = { type: 'model'; response: ChatModelResponse['response'][number][] }

function resultText(
  content: readonly { type: string; text?: string }[],
  isError: boolean | undefined,
): string {
  const text = content
    .map((part) =>
      part.type === 'text' ? (part.text ?? '') : `[${part.type} omitted: this model reads text only]`,
    )
    .join('')
  return isError ? `Error: ${text}` : text
}

export function toChatHistory(messages: readonly Message[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = []
  const calls = new Map<string, ChatModelFunctionCall>()
  let systemText: string[] = []
  for (const message of messages) {
    if (message.role === 'system') {
      systemText.push(message.content)
      continue
    }
    if (systemText.length > 0) {
      history.push({ type: 'system', text: systemText.join('\n\n') })
      systemText = []
    }
    if (message.role === 'user') {
      const text =
        typeof message.content === 'string'
          ? message.content
          : message.content
              .map((part) =>
                part.type === 'text' ? part.text : '[image omitted: this model reads text only]',
              )
              .join('')
      history.push({ type: 'user', text })
    } else if (message.role === 'assistant') {
      const item: ModelItem = { type: 'model', response: [] }
      for (const part of message.content) {
        if (part.type === 'text' && part.text !== '') item.response.push(part.text)
        else if (part.type === 'tool-call') {
          const call: ChatModelFunctionCall = {
            type: 'functionCall',
            name: part.name,
            params: part.input,
            result: '',
          }
          calls.set(part.id, call)
          item.response.push(call)
        }
      }
      history.push(item)
    } else {
      for (const result of message.content) {
        const call = calls.get(result.toolCallId)
        const text = resultText(result.content, result.isError)
        if (call) call.result = text
        // A result whose call is not in this conversation (cut by compaction): keep it as text.
        else history.push({ type: 'user', text: `Result of ${result.toolName}: ${text}` })
      }
    }
  }
  if (systemText.length > 0) history.push({ type: 'system', text: systemText.join('\n\n') })
  const last = messages[messages.length - 1]
  const lastItem = history[history.length - 1]
  // After tool results the model goes on with its own turn; otherwise a new, empty turn is its to fill.
  if (!(last?.role === 'tool' && lastItem?.type === 'model')) history.push({ type: 'model', response: [] })
  return history
}

/** A key for the conversation, to give it back the sequence (and KV cache) it used before. */
export function conversationKey(messages: readonly Message[]): string {
  const first = messages.find((m) => m.role === 'user')
  const system = messages.find((m) => m.role === 'system')
  return `${system ? textOf(system).slice(0, 200) : ''}\u0000${first ? textOf(first).slice(0, 200) : ''}`
}
