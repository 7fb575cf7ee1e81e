/**
 * Compaction of a conversation, as pure functions over messages (the plugin runs them, the
 * transcript records what they did, `replay()` applies the record again):
 * 1. clear old tool results: their content becomes a placeholder saying what was there;
 * 2. summarise older turns: the messages before a cut become one user message holding a summary
 *    the model wrote. The cut is only ever where a user prompt starts, or where a model turn starts
 *    after a complete tool-results message, so a tool call never loses its result.
 * The system prompt and the todo list are not part of the conversation: they are never summarised.
 */
import type { Message, ToolResultPart } from '../../kernel/index.js'
import type { Todo } from '../agent/index.js'

/** A tool result whose content was replaced. */
export interface ClearedResult {
  /** The index of the tool message. */
  readonly index: number
  readonly toolCallId: string
  /** The placeholder that replaced the content. */
  readonly text: string
}

/** The older messages `[from, to)` replaced by one summary message. */
export interface SummaryReplacement {
  readonly from: number
  readonly to: number
  readonly message: Message
}

/** What the placeholder of a cleared result starts with (so a result is never cleared twice). */
export const CLEARED_PREFIX = '[Old tool result cleared to save context:'
/** What a summary message starts with. */
export const SUMMARY_PREFIX = '[Summary of the earlier conversation, written when the session was compacted]'

function inputSummary(input: unknown): string {
  const text = typeof input === 'string' ? input : JSON.stringify(input ?? null)
  return text.length > 160 ? `${text.slice(0, 159)}…` : text
}

function sizeOf(part: ToolResultPart): { chars: number; images: number } {
  let chars = 0
  let images = 0
  for (const content of part.content) {
    if (content.type === 'text') chars += content.text.length
    else images++
  }
  return { chars, images }
}

function isCleared(part: ToolResultPart): boolean {
  const first = part.content[0]
  return part.content.length === 1 && first?.type === 'text' && first.text.startsWith(CLEARED_PREFIX)
}

/**
 * The tool results to clear: every result in tool messages older than the last `keep` tool
 * messages (one per model turn that called tools), unless it is already a placeholder or smaller
 * than one.
 */
export function planClearing(messages: readonly Message[], keep: number): ClearedResult[] {
  const toolIndexes: number[] = []
  for (let i = 0; i < messages.length; i++) if (messages[i]!.role === 'tool') toolIndexes.push(i)
  const old = toolIndexes.slice(0, Math.max(0, toolIndexes.length - keep))
  if (old.length === 0) return []
  const inputs = new Map<string, unknown>()
  const last = old[old.length - 1]!
  for (let i = 0; i < last; i++) {
    const message = messages[i]!
    if (message.role !== 'assistant' || typeof message.content === 'string') continue
    for (const part of message.content) if (part.type === 'tool-call') inputs.set(part.id, part.input)
  }
  const cleared: ClearedResult[] = []
  for (const index of old) {
    const message = messages[index]!
    if (typeof message.content === 'string') continue
    for (const part of message.content) {
      if (part.type !== 'tool-result' || isCleared(part)) continue
      const { chars, images } = sizeOf(part)
      const size = `${chars.toLocaleString('en-US')} characters${images > 0 ? ` and ${images} image(s)` : ''}`
      const text = `${CLEARED_PREFIX} ${part.toolName} ${inputSummary(inputs.get(part.toolCallId))} returned ${size}${part.isError ? ' (an error)' : ''}. Call the tool again if it is needed.]`
      if (images === 0 && chars <= text.length) continue
      cleared.push({ index, toolCallId: part.toolCallId, text })
    }
  }
  return cleared
}

/** The messages with the cleared results' content replaced (a new array; the input is untouched). */
export function applyClearing(messages: readonly Message[], cleared: readonly ClearedResult[]): Message[] {
  const out = messages.slice()
  const byIndex = new Map<number, Map<string, string>>()
  for (const c of cleared) {
    const m = byIndex.get(c.index) ?? new Map<string, string>()
    byIndex.set(c.index, m)
    m.set(c.toolCallId, c.text)
  }
  for (const [index, texts] of byIndex) {
    const message = out[index]
    if (message?.role !== 'tool') throw new Error(`message ${index} is not a tool message`)
    out[index] = {
      ...message,
      content: message.content.map((part) => {
        const text = texts.get(part.toolCallId)
        if (text === undefined) return part
        const { structured: _structured, ...rest } = part
        return { ...rest, content: [{ type: 'text' as const, text }] }
      }),
    }
  }
  return out
}

/** Whether a summary may start the kept part at `index`: a prompt, or a model turn after complete results. */
function isBoundary(messages: readonly Message[], index: number): boolean {
  const role = messages[index]!.role
  if (role === 'user') return true
  return role === 'assistant' && messages[index - 1]?.role === 'tool'
}

/**
 * Where the verbatim part starts when the last `keepTurns` model turns are kept: the latest
 * boundary at or before the first kept turn; 0 when there is nothing before it to summarise.
 * With fewer turns than that, fewer are kept (at least one).
 */
export function summaryCut(messages: readonly Message[], keepTurns: number): number {
  const assistants: number[] = []
  for (let i = 0; i < messages.length; i++) if (messages[i]!.role === 'assistant') assistants.push(i)
  for (let keep = Math.max(1, keepTurns); keep >= 1; keep--) {
    const first = assistants[assistants.length - keep]
    if (first === undefined) continue
    for (let b = first; b > 0; b--) {
      if (isBoundary(messages, b)) {
        // A boundary right after the previous summary gains nothing.
        if (b === 1 && isSummary(messages[0]!)) break
        return b
      }
    }
  }
  // No turn boundary: the last prompt, if it is not the first message.
  return 0
}

export function isSummary(message: Message): boolean {
  return (
    message.role === 'user' &&
    typeof message.content === 'string' &&
    message.content.startsWith(SUMMARY_PREFIX)
  )
}

/** How much of one tool result the summary request shows. */
const RESULT_CHARS = 2000

/** The older messages as text for the summary request. */
export function renderForSummary(messages: readonly Message[]): string {
  const lines: string[] = []
  for (const message of messages) {
    if (typeof message.content === 'string') {
      lines.push(`${message.role === 'user' ? 'User' : message.role}: ${message.content}`)
      continue
    }
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          lines.push(`${message.role === 'assistant' ? 'Assistant' : 'User'}: ${part.text}`)
          break
        case 'tool-call':
          lines.push(`Assistant called ${part.name} ${inputSummary(part.input)}`)
          break
        case 'tool-result': {
          const text = part.content.map((c) => (c.type === 'text' ? c.text : '[image]')).join('\n')
          const cut =
            text.length > RESULT_CHARS
              ? `${text.slice(0, RESULT_CHARS)}… [${text.length - RESULT_CHARS} more characters]`
              : text
          lines.push(`Result of ${part.toolName}${part.isError ? ' (error)' : ''}: ${cut}`)
          break
        }
        case 'image':
          lines.push('[image]')
          break
        default:
          break
      }
    }
  }
  return lines.join('\n\n')
}

/** The system prompt of the summary call. */
export const SUMMARY_SYSTEM =
  "You summarise the earlier part of a coding agent's session so the agent can go on without it. The summary replaces those messages: whatever it leaves out is lost. Write plain text under these headings: Goal (what the user asked for, in their words where it matters), Decisions (what was decided and why), Files touched (paths, and what was read, created or changed in each), Open tasks (what is left to do, next steps), Facts (errors seen, commands that worked, anything the agent must not forget). Be specific and concise; do not invent anything."

/** The user message of the summary call: the older conversation and the instructions. */
export function summaryRequestText(rendered: string, instructions: readonly string[]): string {
  const extra = instructions.filter((i) => i.trim() !== '')
  return [
    '<conversation>',
    rendered,
    '</conversation>',
    '',
    'Summarise the conversation above for the agent that continues it.',
    ...(extra.length > 0 ? ['', 'Additional instructions:', ...extra.map((i) => `- ${i}`)] : []),
  ].join('\n')
}

/** The message that replaces the older ones: the summary, and the todo list as it is (pinned). */
export function summaryMessage(summary: string, todos: readonly Todo[]): Message {
  const list =
    todos.length === 0
      ? ''
      : `\n\nThe todo list (current, kept as is):\n${todos.map((t) => `- [${t.status}] ${t.content}`).join('\n')}`
  return { role: 'user', content: `${SUMMARY_PREFIX}\n\n${summary.trim()}${list}` }
}

export function applySummary(messages: readonly Message[], replacement: SummaryReplacement): Message[] {
  return [...messages.slice(0, replacement.from), replacement.message, ...messages.slice(replacement.to)]
}
