/**
 * The live area under the printed rows: the streaming line and the status of the run, the
 * prompts queued, then the open question or the input box with its footer (command matches with
 * their argument hints, the history search, "Press Ctrl-C again to exit", the mode, the context use).
 */
import type { PermissionMode } from '../permissions/index.js'
import type { SlashCommand } from '../slash-commands/index.js'
import { completions } from './completion.js'
import type { Editor } from './editor.js'
import type { Question } from './questions.js'
import { truncate } from './render.js'
import type { RunView } from './run-view.js'
import { cutRow, type Row, span, wrap } from './text.js'

export interface LiveState {
  readonly width: number
  /** The screen's rows (the input box gets at most all but 8). */
  readonly height: number
  readonly color: boolean
  readonly run: RunView | undefined
  /** The queued prompts as the box showed them. */
  readonly queued: readonly string[]
  readonly question: Question | undefined
  readonly editor: Editor
  readonly commands: readonly SlashCommand[]
  readonly armedExit: boolean
  readonly mode: PermissionMode | undefined
  readonly contextUse: string | undefined
}

export function liveArea(state: LiveState): {
  rows: Row[]
  cursor: { row: number; col: number } | undefined
} {
  const { width, question } = state
  const rows: Row[] = []
  if (state.run) {
    rows.push(...state.run.pending())
    rows.push(state.run.statusRow(width, question !== undefined))
  }
  for (const queued of state.queued)
    rows.push(cutRow([span('  ↳ queued: ', { dim: true }), span(truncate(queued, width))], width))
  if (question?.kind === 'choice') {
    rows.push(...question.choice.rows(width, state.color))
    rows.push([span('  ↑/↓ to move · Enter to choose · Esc to cancel', { dim: true })])
    return { rows, cursor: undefined }
  }
  const editor = question?.kind === 'text' ? question.editor : state.editor
  if (question?.kind === 'text') rows.push(...wrap([span(question.label, { bold: true })], width))
  rows.push([span('─'.repeat(width), { dim: true })])
  const layout = editor.layout(width, [span('> ', { bold: true })], Math.max(3, state.height - 8))
  const cursor = { row: rows.length + layout.cursor.row, col: layout.cursor.col }
  rows.push(...layout.rows)
  rows.push([span('─'.repeat(width), { dim: true })])
  rows.push(...footerRows(state, question?.kind === 'text'))
  return { rows, cursor }
}

function footerRows(state: LiveState, answering: boolean): Row[] {
  const { width, editor } = state
  if (answering) return [[span('  Enter to send · Esc to skip', { dim: true })]]
  const search = editor.searching
  if (search) {
    const ok = search.found || search.query === ''
    return [
      cutRow(
        [
          span(`  history search: ${search.query}`, { color: ok ? 'cyan' : 'red' }),
          span(ok ? '  (Ctrl-R older · Enter to edit · Esc to cancel)' : '  (no match)', { dim: true }),
        ],
        width,
      ),
    ]
  }
  const text = editor.text
  if (text.startsWith('/') && !/\s/.test(text)) {
    const matches = completions(state.commands, text.slice(1)).slice(0, 6)
    if (matches.length > 0)
      return matches.map((c) =>
        cutRow(
          [span(`  ${c.label.padEnd(20)} `, { color: 'cyan' }), span(c.description, { dim: true })],
          width,
        ),
      )
  }
  if (state.armedExit) return [[span('  Press Ctrl-C again to exit', { color: 'yellow' })]]
  const cycle = span(' (shift+tab to cycle)', { dim: true })
  const left: Row =
    state.mode === 'acceptEdits'
      ? [span('  ⏵⏵ accept edits on', { color: 'magenta' }), cycle]
      : state.mode === 'plan'
        ? [span('  ⏸ plan mode on', { color: 'cyan' }), cycle]
        : state.mode === 'bypassPermissions'
          ? [span('  ⏵⏵ bypass permissions on', { color: 'red' }), cycle]
          : [span('  /help for commands · shift+tab for modes', { dim: true })]
  const use = state.contextUse
  return [cutRow([...left, ...(use ? [span(`  ${use}`, { dim: true })] : [])], width)]
}
