/**
 * One run as the terminal shows it: the answer streamed as Markdown, tool calls with their
 * results, diffs and todos, a subagent's calls nested under its Task call, the status line
 * with a spinner, and the usage line at the end.
 */
import type { AgentEvent } from '../agent/index.js'
import { MarkdownStream } from './markdown.js'
import {
  diffRows,
  formatDuration,
  formatTokens,
  summarizeInput,
  todoRows,
  toolEndRow,
  toolStartRow,
  truncate,
  usageLine,
} from './render.js'
import { cutRow, type Row, type SpanStyle, span, wrap } from './text.js'

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/** A tool call going on, for the status line. */
interface Activity {
  readonly name: string
  readonly summary: string
  /** When the tool itself started: its start, or the user's approval when it was asked. */
  started: number
  /** The user was asked: the call's own time starts at the answer. */
  asked: boolean
  readonly parent: string | undefined
  progress?: string
}

/** What a run view needs of the terminal. */
export interface RunHost {
  readonly columns: number
  readonly color: boolean
  print(rows: readonly Row[]): void
  gap(): void
  say(text: string, style?: SpanStyle): void
  refresh(): void
}

export class RunView {
  readonly started = Date.now()
  aborted = false
  private readonly md: MarkdownStream
  private readonly tools = new Map<string, Activity>()
  /** Task call id -> the subagent's type, for nesting its calls. */
  private readonly tasks = new Map<string, string>()
  private thinking = false
  /** Rows of the current assistant message were printed (no gap before the next ones). */
  private inText = false
  private printedText = false
  private tokens = 0

  constructor(private readonly host: RunHost) {
    this.md = new MarkdownStream({ color: host.color, width: () => host.columns })
  }

  /** The rows of the answer not printed yet (the line being streamed). */
  pending(): Row[] {
    return this.md.pending()
  }

  statusRow(width: number, waiting: boolean): Row {
    const elapsed = Date.now() - this.started
    const frame = SPINNER[Math.floor(elapsed / 100) % SPINNER.length]!
    let what = 'Working…'
    const tools = [...this.tools.values()]
    const latest = tools.at(-1)
    if (waiting) what = 'Waiting for your answer…'
    else if (latest) {
      const task = latest.parent !== undefined ? this.tasks.get(latest.parent) : undefined
      const head = `${task ? `${task} › ` : ''}${latest.name}${latest.summary ? `(${latest.summary})` : ''}`
      what = `${head} ${formatDuration(Date.now() - latest.started)}${latest.progress ? ` · ${latest.progress}` : ''}${tools.length > 1 ? ` (+${tools.length - 1} more)` : ''}`
    } else if (this.thinking) what = 'Thinking…'
    const tokens = this.tokens > 0 ? ` · ${formatTokens(this.tokens)} tokens` : ''
    return cutRow(
      [
        span(`${frame} `, { color: 'magenta' }),
        span(truncate(what, width), { color: 'magenta' }),
        span(` (${formatDuration(elapsed)}${tokens} · esc to interrupt)`, { dim: true }),
      ],
      width,
    )
  }

  flushText(): void {
    const rows = this.md.end()
    if (rows.length > 0) {
      if (!this.inText) this.host.gap()
      this.printedText = true
      this.host.print(rows)
    }
    this.inText = false
  }

  /** One event of the run; a subagent's (parentToolCallId set) nests under its Task call. */
  render(event: AgentEvent) {
    const host = this.host
    const width = host.columns
    const parent = event.parentToolCallId
    const indent = parent !== undefined ? 4 : 0
    switch (event.type) {
      case 'text-delta': {
        if (parent !== undefined) return
        this.thinking = false
        const rows = this.md.push(event.text)
        if (rows.length > 0) {
          if (!this.inText) host.gap()
          this.inText = true
          this.printedText = true
          host.print(rows)
        }
        return host.refresh()
      }
      case 'reasoning-delta':
        if (parent === undefined) this.thinking = true
        return
      case 'assistant-message':
        if (parent === undefined) this.flushText()
        return
      case 'tool-start': {
        if (parent === undefined) {
          this.flushText()
          host.gap()
        }
        this.tools.set(event.id, {
          name: event.name,
          summary: truncate(summarizeInput(event.name, event.input), 40),
          started: Date.now(),
          asked: false,
          parent,
        })
        const type = (event.input as { subagent_type?: unknown } | undefined)?.subagent_type
        if (event.name === 'Task' && typeof type === 'string') this.tasks.set(event.id, type)
        host.print([toolStartRow(event.name, event.input, width, indent)])
        return host.refresh()
      }
      case 'permission-request': {
        const activity = this.tools.get(event.id)
        if (activity) activity.asked = true
        return
      }
      case 'tool-progress': {
        const activity = this.tools.get(event.id)
        if (activity) activity.progress = truncate(event.message, 40)
        return
      }
      case 'tool-end': {
        const activity = this.tools.get(event.id)
        this.tools.delete(event.id)
        // The tool's own time: a call the user was asked about counts from the answer, not
        // from its start (the agent's durationMs includes the wait for the user).
        const duration = activity?.asked ? Date.now() - activity.started : event.durationMs
        const rows: Row[] = [toolEndRow(event.name, event.result, duration, width, indent)]
        rows.push(...diffRows(event.display, width, 40, indent))
        host.print(rows)
        return host.refresh()
      }
      case 'permission-decision': {
        const activity = this.tools.get(event.id)
        if (activity?.asked) activity.started = Date.now()
        if (event.behavior === 'deny' && event.source !== 'user')
          host.print(
            wrap([span(`✗ ${event.name} denied: ${event.reason}`, { color: 'red' })], width, {
              first: [span(' '.repeat(indent + 2))],
            }),
          )
        return
      }
      case 'todos':
        if (parent !== undefined) return
        return host.print(todoRows(event.todos, width))
      case 'usage':
        if (parent === undefined) this.tokens = event.total.inputTokens + event.total.outputTokens
        return
      case 'notification':
        return host.say(event.message, event.level === 'warn' ? { color: 'yellow' } : { dim: true })
      case 'compaction':
        return host.say(`(conversation compacted: ${event.tokensBefore} → ${event.tokensAfter} tokens)`, {
          dim: true,
        })
      case 'error':
        if (parent !== undefined) return
        this.flushText()
        return host.say(`error ${event.code}: ${event.message}`, { color: 'red' })
      case 'result': {
        if (parent !== undefined) return
        this.flushText()
        if (!this.printedText && event.text.trim() !== '' && !event.isError) {
          const md = new MarkdownStream({ color: host.color, width: () => width })
          host.print([...md.push(`${event.text}\n`), ...md.end()])
        }
        const stop =
          event.stopReason === 'aborted'
            ? [span('interrupted · ', { color: 'yellow' })]
            : event.isError
              ? [span(`${event.stopReason} · `, { color: 'red' })]
              : []
        host.gap()
        host.print([
          [
            ...stop,
            span(
              `${usageLine(event.usage, event.costUsd)} · ${event.turns} turn${event.turns === 1 ? '' : 's'} · ${formatDuration(event.durationMs)}`,
              { dim: true },
            ),
          ],
        ])
        return
      }
      default:
        return
    }
  }
}
