/** Turns agent events into terminal lines: compact tool calls, coloured diffs, todos, usage. */
import type { ToolResultPart, Usage } from '../../kernel/index.js'
import type { Todo } from '../agent/events.js'

export interface Style {
  readonly color: boolean
  /** Width lines are cut to. */
  readonly columns: number
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 } as const
export type Color = keyof typeof CODES | 'bold' | 'dim'

export function paint(style: Style, color: Color, text: string): string {
  if (!style.color) return text
  const code = color === 'bold' ? 1 : color === 'dim' ? 2 : CODES[color]
  return `\u001b[${code}m${text}\u001b[0m`
}

/** Cuts `text` to one line of at most `width` characters, with an ellipsis when cut. */
export function truncate(text: string, width: number): string {
  const line = text.replace(/\s*\n[\s\S]*$/, ' …').replace(/\s+/g, ' ')
  const chars = Array.from(line)
  if (chars.length <= width) return line
  return `${chars.slice(0, Math.max(1, width - 1)).join('')}…`
}

function field(input: unknown, ...names: string[]): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined
  for (const name of names) {
    const value = (input as Record<string, unknown>)[name]
    if (typeof value === 'string' && value !== '') return value
  }
  return undefined
}

/** A short summary of a tool call's input: the command, the path, the pattern. */
export function summarizeInput(name: string, input: unknown): string {
  const main = field(input, 'command', 'file_path', 'path', 'pattern', 'url', 'description', 'prompt')
  if (main !== undefined) return main
  if (name === 'TodoWrite') return 'todos'
  if (input === undefined || input === null) return ''
  const text = JSON.stringify(input)
  return text === '{}' ? '' : text
}

export function toolStartLine(style: Style, name: string, input: unknown): string {
  const summary = summarizeInput(name, input)
  const head = `● ${name}`
  const room = style.columns - head.length - 2
  const inner = summary === '' ? '' : `(${truncate(summary, Math.max(8, room))})`
  return `${paint(style, 'cyan', head)}${inner}`
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}

export function resultText(result: ToolResultPart): string {
  return result.content
    .map((part) => (part.type === 'text' ? part.text : `[${part.type}]`))
    .join(' ')
    .trim()
}

export function toolEndLine(style: Style, name: string, result: ToolResultPart, durationMs: number): string {
  const ok = result.isError !== true
  const mark = ok ? paint(style, 'green', '✓') : paint(style, 'red', '✗')
  const head = `  ⎿ ${ok ? '✓' : '✗'} ${name} ${formatDuration(durationMs)}`
  const text = resultText(result)
  const room = style.columns - head.length - 3
  const tail = text === '' ? '' : ` · ${truncate(text, Math.max(8, room))}`
  return `  ⎿ ${mark} ${name} ${paint(style, 'dim', formatDuration(durationMs))}${paint(style, 'gray', tail)}`
}

interface DiffDisplay {
  readonly type: 'diff'
  readonly diff: string
  readonly added?: number
  readonly removed?: number
}

function isDiff(display: unknown): display is DiffDisplay {
  return (
    typeof display === 'object' &&
    display !== null &&
    (display as { type?: unknown }).type === 'diff' &&
    typeof (display as { diff?: unknown }).diff === 'string'
  )
}

/** The diff of an Edit/MultiEdit/Write result, coloured, at most `maxLines` lines. */
export function diffLines(style: Style, display: unknown, maxLines = 40): string[] {
  if (!isDiff(display)) return []
  const lines = display.diff.split('\n').filter((line) => line !== '')
  const shown = lines.slice(0, maxLines).map((line) => {
    const cut = truncate(line, style.columns - 4)
    if (line.startsWith('+++') || line.startsWith('---')) return `    ${paint(style, 'bold', cut)}`
    if (line.startsWith('+')) return `    ${paint(style, 'green', cut)}`
    if (line.startsWith('-')) return `    ${paint(style, 'red', cut)}`
    if (line.startsWith('@@')) return `    ${paint(style, 'cyan', cut)}`
    return `    ${paint(style, 'dim', cut)}`
  })
  if (lines.length > maxLines) shown.push(`    … ${lines.length - maxLines} more lines`)
  return shown
}

export function todoLines(style: Style, todos: readonly Todo[]): string[] {
  if (todos.length === 0) return [paint(style, 'dim', '  (todo list cleared)')]
  return [
    paint(style, 'bold', '  Todos'),
    ...todos.map((todo) => {
      const box = todo.status === 'completed' ? '[x]' : todo.status === 'in_progress' ? '[~]' : '[ ]'
      const text = todo.status === 'in_progress' ? (todo.activeForm ?? todo.content) : todo.content
      const line = `  ${box} ${truncate(text, style.columns - 6)}`
      if (todo.status === 'completed') return paint(style, 'dim', line)
      if (todo.status === 'in_progress') return paint(style, 'yellow', line)
      return line
    }),
  ]
}

export function formatTokens(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n)
}

export function usageLine(usage: Usage, costUsd: number | undefined): string {
  const cost = costUsd === undefined ? '' : ` · $${costUsd.toFixed(4)}`
  return `${formatTokens(usage.inputTokens)} in · ${formatTokens(usage.outputTokens)} out${cost}`
}
