/**
 * Token accounting without a tokenizer: the provider's reported usage where there is one, and a
 * cheap estimate (characters / 4) for what the provider has not counted yet.
 */
import type { Message, ToolDefinition, Usage } from '../../kernel/index.js'

/** Characters per token of the estimate. */
export const CHARS_PER_TOKEN = 4
/** What an image counts, whatever its size (providers charge roughly this for a screenshot). */
const IMAGE_TOKENS = 1000

export interface TokenCount {
  /** Tokens the next request would carry: reported + estimate. */
  readonly used: number
  /** The model's context window, from the provider's capabilities (undefined when unknown). */
  readonly window: number | undefined
  /** The part of `used` that is estimated (messages the provider has not counted yet). */
  readonly estimate: number
  /** The part of `used` the provider reported (its last call's input + output). */
  readonly reported: number
}

export function estimateText(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN)
}

/** The estimate of one message: its text, tool inputs and results, images at a flat rate. */
export function estimateMessage(message: Message): number {
  if (typeof message.content === 'string') return estimateText(message.content) + 4
  let chars = 0
  let images = 0
  for (const part of message.content) {
    switch (part.type) {
      case 'text':
      case 'reasoning':
        chars += part.text.length
        break
      case 'image':
        images++
        break
      case 'tool-call':
        chars +=
          part.name.length +
          (typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? null)).length
        break
      case 'tool-result':
        for (const content of part.content) {
          if (content.type === 'text') chars += content.text.length
          else images++
        }
        break
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN) + images * IMAGE_TOKENS + 4
}

export function estimateMessages(messages: readonly Message[]): number {
  let total = 0
  for (const message of messages) total += estimateMessage(message)
  return total
}

export function estimateTools(tools: readonly ToolDefinition[]): number {
  return tools.length === 0 ? 0 : estimateText(JSON.stringify(tools))
}

/** The context the provider counted at a call: all input (cached or not) and the output. */
export function contextOf(usage: Usage): number {
  return usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0) + usage.outputTokens
}
