/**
 * The AskUserQuestion questions the terminal, ACP, web UI and Claude Code tool tests ask (one pick
 * with descriptions, a multi-select, one the user answers in their own words), and what the model
 * was sent back.
 */
import type { ScriptedServer } from '../../plugins/provider-scripted/server.js'

export const color = {
  question: 'Which color should the button be?',
  header: 'Color',
  options: [
    { label: 'Red', description: 'Loud' },
    { label: 'Blue', description: 'Calm' },
  ],
  multiSelect: false,
}
export const sizes = {
  question: 'Which sizes?',
  header: 'Sizes',
  options: [
    { label: 'Small', description: '' },
    { label: 'Medium', description: '' },
    { label: 'Large', description: '' },
  ],
  multiSelect: true,
}
export const shape = {
  question: 'Which shape?',
  header: 'Shape',
  options: [
    { label: 'Round', description: '' },
    { label: 'Square', description: '' },
  ],
  multiSelect: false,
}

/** The text of a tool result's content: a string, or its text blocks joined. */
export const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : (content as Array<{ text?: string }>).map((part) => part.text ?? '').join('')

/**
 * The distinct tool results the model was sent, in order (each request resends the earlier):
 * OpenAI's `tool` messages and Anthropic's `tool_result` blocks.
 */
export function sentResults(server: ScriptedServer): string[] {
  const all = server.requests.flatMap((r) => {
    const messages =
      (r.body as { messages?: Array<{ role: string; content: unknown }> } | undefined)?.messages ?? []
    if (r.path.endsWith('/chat/completions'))
      return messages.filter((m) => m.role === 'tool').map((m) => textOf(m.content))
    if (r.path.startsWith('/v1/messages'))
      return messages
        .flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : []))
        .filter((b) => b.type === 'tool_result')
        .map((b) => textOf(b.content))
    return []
  })
  return [...new Set(all)]
}
