/** Turns agent events into terminal rows: compact tool calls, coloured diffs, todos, usage. */
import type { ToolResultPart, Usage } from '../../kernel/index.js'
import type { Todo } from '../agent/index.js'
import { sanitize } from './markdown.js'
import { cutRow, type Row, type SpanStyle, span } from './text.js'

/** Cuts `text` to one line of at most `width` characters, with an ellipsis when cut. */
export function truncate(text: string, width: number): string {
  const line = sanitize(text)
    .replace(/\s*\n[\s\S]*$/, ' …')
    .replace(/\s+/g, ' ')
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
  const main = field(input, 'command', 'file_path', 'path', 'pattern', 'url', 'description', 'prompt', 'plan')
  if (main !== undefined) return main
  if (name === 'TodoWrite') return 'todos'
  if (input === undefined || input === null) return ''
  const text = JSON.stringify(input)
  return text === '{}' ? '' : text
}

/** `● Name(summary)`, cut to the width. `indent` nests a subagent's calls under its Task. */
export function toolStartRow(name: string, input: unknown, columns: number, indent = 0): Row {
  const summary = summarizeInput(name, input)
  const row: Row = [
    span(' '.repeat(indent)),
    span('● ', { color: indent > 0 ? 'gray' : 'cyan' }),
    span(name, { bold: true }),
    ...(summary === '' ? [] : [span(`(${truncate(summary, columns)})`)]),
  ]
  return cutRow(row, columns)
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

/** `⎿ ✓ Name 1.2s · first line of the result`. */
export function toolEndRow(
  name: string,
  result: ToolResultPart,
  durationMs: number,
  columns: number,
  indent = 0,
): Row {
  const ok = result.isError !== true
  const text = resultText(result)
  const row: Row = [
    span(`${' '.repeat(indent)}  ⎿ `),
    ok ? span('✓', { color: 'green' }) : span('✗', { color: 'red' }),
    span(` ${name} `),
    span(formatDuration(durationMs), { dim: true }),
    ...(text === '' ? [] : [span(` · ${truncate(text, columns)}`, { color: 'gray' })]),
  ]
  return cutRow(row, columns)
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
export function diffRows(display: unknown, columns: number, maxLines = 40, indent = 0): Row[] {
  if (!isDiff(display)) return []
  const lines = display.diff.split('\n').filter((line) => line !== '')
  const pad = ' '.repeat(indent + 4)
  const rows: Row[] = lines.slice(0, maxLines).map((line) => {
    const text = truncate(line, columns - pad.length)
    const style: SpanStyle =
      line.startsWith('+++') || line.startsWith('---')
        ? { bold: true }
        : line.startsWith('+')
          ? { color: 'green' }
          : line.startsWith('-')
            ? { color: 'red' }
            : line.startsWith('@@')
              ? { color: 'cyan' }
              : { dim: true }
    return [span(pad), span(text, style)]
  })
  if (lines.length > maxLines)
    rows.push([span(`${pad}… ${lines.length - maxLines} more lines`, { dim: true })])
  return rows
}

export function todoRows(todos: readonly Todo[], columns: number): Row[] {
  if (todos.length === 0) return [[span('  (todo list cleared)', { dim: true })]]
  return [
    [span('  Todos', { bold: true })],
    ...todos.map((todo): Row => {
      const box = todo.status === 'completed' ? '☒' : todo.status === 'in_progress' ? '◐' : '☐'
      const text = todo.status === 'in_progress' ? (todo.activeForm ?? todo.content) : todo.content
      const style: SpanStyle | undefined =
        todo.status === 'completed'
          ? { dim: true, strike: true }
          : todo.status === 'in_progress'
            ? { color: 'yellow', bold: true }
            : undefined
      return [
        span(`  ${box} `, style?.strike ? { dim: true } : style),
        span(truncate(text, columns - 6), style),
      ]
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
