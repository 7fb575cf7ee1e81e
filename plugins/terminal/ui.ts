/**
 * The interactive session: a SessionController (the session logic every frontend shares:
 * prompts and their queue, slash commands, `# text`, /resume, modes) driven from an input box
 * that stays usable while the agent works, its events rendered as they arrive (run-view.ts),
 * and the session's questions asked in the live area (questions.ts). Ctrl-C / Esc handling.
 *
 * On a TTY the keys are read raw and the screen keeps a live area (screen.ts). Without one (tests
 * with streams, a pipe) lines are read and output is printed as plain lines.
 */
import { createInterface, type Interface } from 'node:readline'
import { isTauError } from '../../kernel/index.js'
import type { AgentRuntime, AgentSessionOptions } from '../agent/index.js'
import type { InteractiveRunContext } from '../headless/index.js'
import type { MemoryService } from '../memory/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { SessionService } from '../session/index.js'
import { type ControllerEvent, SessionController, type Tone } from '../session-controller/index.js'
import type { SlashCommand, SlashCommands } from '../slash-commands/index.js'
import { completeText, completions } from './completion.js'
import { Editor, type EditorAction, type Key } from './editor.js'
import { PromptHistory } from './history.js'
import { KeyInput } from './keys.js'
import { liveArea } from './live-area.js'
import { type Question, TerminalQuestions } from './questions.js'
import { truncate } from './render.js'
import { RunView } from './run-view.js'
import { Screen } from './screen.js'
import { type Row, rowWidth, type SpanStyle, span, wrap } from './text.js'

export interface TerminalOptions {
  readonly runtime: AgentRuntime
  readonly projectDir: string
  readonly sessionOptions: AgentSessionOptions
  readonly env?: NodeJS.ProcessEnv
  /** Two Ctrl-C within this long exit while a run goes on (default 1000 ms). */
  readonly doubleInterruptMs?: number
  /** The session plugin's service (`/compact`, `/resume`); undefined when that plugin is not loaded. */
  readonly sessions?: SessionService
  /** The memory plugin's service (`# text`); undefined when that plugin is not loaded. */
  readonly memory?: MemoryService
  /** The slash-commands plugin's registry (custom commands, MCP prompts); undefined without it. */
  readonly slashCommands?: SlashCommands
  /** Where the prompt history is kept (`$TAU_HOME`); without it, history lasts the session. */
  readonly tauHome?: string
}

const KEYS_HELP: ReadonlyArray<readonly [string, string]> = [
  ['Enter', 'send (while the agent works: queue it)'],
  ['Shift/Alt-Enter, Ctrl-J, \\ Enter', 'new line'],
  ['Esc', 'interrupt the agent; twice: clear the input'],
  ['Ctrl-C', 'interrupt, clear the input; twice: exit'],
  ['Shift-Tab', 'cycle permission modes'],
  ['Up / Down', 'history (at the first / last line)'],
  ['Ctrl-R', 'search the history'],
  ['Tab', 'complete a /command'],
  ['Ctrl-L', 'clear the screen'],
]

const MODE_CYCLE: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan']

const TONES: Record<Tone, SpanStyle | undefined> = {
  info: undefined,
  success: { color: 'green' },
  warn: { color: 'yellow' },
  error: { color: 'red' },
  dim: { dim: true },
}

function isTTY(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return isTauError(error) ? `${text} (${error.hint})` : text
}

export class TerminalSession {
  private readonly color: boolean
  private readonly screen: Screen
  private readonly raw: boolean
  private keys: KeyInput | undefined
  private rl: Interface | undefined
  private readonly controller: SessionController
  private readonly questions: TerminalQuestions
  private commands: readonly SlashCommand[] = []
  private readonly editor = new Editor()
  private readonly history: PromptHistory | undefined
  private current: RunView | undefined
  /** What the input box showed for a queued prompt (a paste's placeholder), by its text. */
  private readonly shown = new Map<string, string>()
  private lastInterrupt = 0
  private lastEscape = 0
  private armedExit = false
  private pendingSubmit: NodeJS.Immediate | undefined
  private ticker: NodeJS.Timeout | undefined
  private lastBlank = true
  private finish!: (code: number) => void
  private finished = false
  /** The mode the session started in: bypassPermissions joins the Shift-Tab cycle only then. */
  private readonly startMode: PermissionMode | undefined

  constructor(
    private readonly options: TerminalOptions,
    private readonly context: InteractiveRunContext,
  ) {
    const env = options.env ?? process.env
    this.raw = isTTY(context.stdin) && isTTY(context.stdout)
    this.color = isTTY(context.stdout) && (env.NO_COLOR === undefined || env.NO_COLOR === '')
    this.screen = new Screen(context.stdout as NodeJS.WriteStream, this.color, this.raw)
    const terminal = this
    this.questions = new TerminalQuestions({
      get columns() {
        return terminal.columns
      },
      raw: this.raw,
      color: this.color,
      get cwd() {
        return terminal.controller.session.cwd
      },
      print: (rows) => this.print(rows),
      say: (text, style) => this.say(text, style),
      refresh: () => this.refresh(),
      interruptRun: () => this.interruptRun(),
    })
    this.controller = new SessionController({
      runtime: options.runtime,
      sessionOptions: options.sessionOptions,
      frontend: this.questions.frontend(),
      ...(options.sessions ? { sessions: options.sessions } : {}),
      ...(options.memory ? { memory: options.memory } : {}),
      ...(options.slashCommands ? { slashCommands: options.slashCommands } : {}),
      ...(this.raw ? { helpExtra: KEYS_HELP } : {}),
    })
    this.controller.subscribe((event) => this.onEvent(event))
    this.startMode = options.sessionOptions.permissionMode
    this.history = options.tauHome ? PromptHistory.at(options.tauHome, options.projectDir) : undefined
  }

  private get columns(): number {
    // Laid out for at least 20 columns; on a narrower terminal the screen counts the wrapped rows.
    return Math.max(20, Math.min(this.screen.columns, 200))
  }

  private get question(): Question | undefined {
    return this.questions.question
  }

  // ---- output ----------------------------------------------------------------------------

  private print(rows: readonly Row[]) {
    if (rows.length === 0) return
    this.screen.print(rows)
    this.lastBlank = rowWidth(rows.at(-1)!) === 0
  }

  /** One blank row between blocks (a prompt, the answer, tool calls), never two. */
  private gap() {
    if (!this.lastBlank) this.print([[]])
  }

  private say(text: string, style?: SpanStyle) {
    const rows: Row[] = []
    for (const line of text.split('\n')) rows.push(...wrap([span(line, style)], this.columns))
    this.print(rows)
  }

  private dim(text: string) {
    this.say(text, { dim: true })
  }

  /** Draws the live area again (a TTY only). */
  private refresh() {
    if (!this.raw || this.finished) return
    const { rows, cursor } = liveArea({
      width: this.columns,
      height: this.screen.rows,
      color: this.color,
      run: this.current,
      queued: this.controller.queue.map((q) => this.shown.get(q) ?? q),
      question: this.question,
      editor: this.editor,
      commands: this.commands,
      armedExit: this.armedExit,
      mode: this.controller.session.permissions?.mode,
      contextUse: this.controller.contextUse,
    })
    this.screen.render(rows, cursor)
  }

  // ---- the session ---------------------------------------------------------------------

  async run(): Promise<number> {
    let session: ReturnType<SessionController['open']>
    try {
      session = this.controller.open()
    } catch (error) {
      this.context.stderr.write(`tau: ${messageOf(error)}\n`)
      return 1
    }
    const [loaded] = await Promise.all([this.controller.commands(), this.history?.load()])
    this.commands = loaded.commands
    if (this.history) this.editor.setHistory(this.history.list)
    const done = new Promise<number>((resolve) => {
      this.finish = (code) => {
        if (this.finished) return
        this.finished = true
        resolve(code)
      }
    })
    const hint = 'Type a prompt, /help for commands, Esc or Ctrl-C to interrupt, Ctrl-D to exit.'
    this.print([
      ...wrap([span('tau', { bold: true }), span(` · ${session.model} · ${session.cwd}`)], this.columns),
      ...wrap([span(hint, { dim: true })], this.columns),
    ])
    for (const problem of loaded.problems) this.say(`warning: ${problem}`, { color: 'yellow' })
    if (this.raw) {
      this.keys = new KeyInput(this.context.stdin, this.context.stdout, (str, key) => this.onKey(str, key))
      this.keys.start()
      const out = this.context.stdout as NodeJS.WriteStream
      const onResize = () => {
        this.screen.resized()
        this.refresh()
      }
      out.on?.('resize', onResize)
      void done.then(() => out.removeListener?.('resize', onResize))
    } else {
      this.rl = createInterface({ input: this.context.stdin, terminal: false })
      this.rl.on('line', (line) => this.onLine(line))
      this.rl.on('close', () => this.finish(0))
    }
    const onAbort = () => this.finish(130)
    this.context.signal.addEventListener('abort', onAbort, { once: true })
    this.refresh()
    const code = await done
    this.context.signal.removeEventListener('abort', onAbort)
    this.stopTicker()
    this.screen.close()
    this.keys?.stop()
    this.rl?.close()
    await this.controller.close('exit')
    return code
  }

  /** What the controller tells: runs, command output, session and mode changes. */
  private onEvent(event: ControllerEvent) {
    const terminal = this
    switch (event.type) {
      case 'input':
        return this.echo(event.text)
      case 'run-start':
        this.current = new RunView({
          get columns() {
            return terminal.columns
          },
          color: this.color,
          print: (rows) => this.print(rows),
          gap: () => this.gap(),
          say: (text, style) => this.say(text, style),
          refresh: () => this.refresh(),
        })
        this.startTicker()
        return this.refresh()
      case 'agent':
        return this.current?.render(event.event)
      case 'run-end':
        if (event.error !== undefined) {
          this.current?.flushText()
          this.say(`error: ${event.error}`, { color: 'red' })
        }
        this.current = undefined
        this.stopTicker()
        return this.refresh()
      case 'output':
        this.say(event.text, TONES[event.tone])
        return this.refresh()
      case 'session':
      case 'mode':
        return this.refresh()
      case 'idle':
        return this.refresh()
      case 'exit':
        return this.finish(0)
      default:
        return
    }
  }

  private echo(text: string) {
    const shown = this.shown.get(text) ?? text
    this.shown.delete(text)
    const line = text.trim()
    const isPrompt = !line.startsWith('/') && !(line.startsWith('#') && !line.startsWith('#!'))
    if (!this.raw) return
    this.gap()
    const rows: Row[] = []
    ;(isPrompt ? shown : line).split('\n').forEach((part, i) => {
      rows.push(
        ...wrap([span(part, { color: 'gray' })], this.columns, {
          first: [span(i === 0 ? '> ' : '  ', { color: 'gray', bold: true })],
        }),
      )
    })
    this.print(rows)
  }

  // ---- input -------------------------------------------------------------------------------

  /** A TTY key. */
  private onKey(str: string | undefined, key: Key) {
    if (this.finished) return
    if (this.pendingSubmit && !this.editor.inPaste && key.name !== 'paste-start') {
      // More keys in the same chunk as an Enter: a paste without bracketed-paste support. The
      // Enter was a new line, not a send.
      clearImmediate(this.pendingSubmit)
      this.pendingSubmit = undefined
      const target = this.question?.kind === 'text' ? this.question.editor : this.editor
      target.insert('\n')
    }
    const question = this.question
    if (question?.kind === 'choice') {
      const action = question.choice.key(str, key)
      if (action.type === 'changed') this.refresh()
      else if (action.type !== 'ignored') question.resolve(action)
      return
    }
    const editor = question?.kind === 'text' ? question.editor : this.editor
    const action = editor.key(str, key)
    this.onEditorAction(action, question?.kind === 'text' ? question : undefined)
  }

  private onEditorAction(action: EditorAction, answering: Extract<Question, { kind: 'text' }> | undefined) {
    switch (action.type) {
      case 'changed':
        if (!answering) this.armedExit = false
        return this.refresh()
      case 'submit': {
        // Deferred by one turn of the event loop: see onKey.
        this.pendingSubmit = setImmediate(() => {
          this.pendingSubmit = undefined
          if (answering) {
            answering.editor.clear()
            answering.resolve(action.text)
            return
          }
          this.editor.clear()
          this.submit(action.text, action.shown)
        })
        return
      }
      case 'interrupt':
        if (answering) return answering.resolve(undefined)
        return this.onInterrupt()
      case 'escape':
        if (answering) return answering.resolve(undefined)
        return this.onEscape()
      case 'eof':
        if (answering) return answering.resolve(undefined)
        return this.finish(0)
      case 'cycle-mode':
        return this.cycleMode()
      case 'clear-screen':
        this.screen.clearScreen()
        return this.refresh()
      case 'complete':
        return this.complete()
      case 'ignored':
        return
    }
  }

  private complete() {
    const text = this.editor.text
    if (!text.startsWith('/') || /\s/.test(text)) return
    const completed = completeText(completions(this.commands, text.slice(1)))
    if (completed === undefined) return
    this.editor.setText(completed)
    this.refresh()
  }

  /** A line from a non-TTY stdin. */
  private onLine(line: string) {
    const question = this.question
    if (question?.kind === 'choice') {
      const [first = '', ...rest] = line.trim().split(/\s+/)
      const action = question.choice.answer(first)
      if (action.type === 'picked') question.resolve({ ...action, rest: rest.join(' ') })
      else this.say(`answer ${question.choice.options.map((_, i) => i + 1).join(', ')}`)
      return
    }
    if (question?.kind === 'text') return question.resolve(line)
    this.submit(line)
  }

  /**
   * Ctrl-C: interrupts a run (twice quickly: exit), else clears the input; on an empty input the
   * first one only says to press it again, the second exits.
   */
  private onInterrupt() {
    const now = Date.now()
    const quick = now - this.lastInterrupt < (this.options.doubleInterruptMs ?? 1000)
    this.lastInterrupt = now
    if (this.current) {
      if (quick) return this.finish(130)
      this.interruptRun()
      return
    }
    if (this.editor.text !== '') {
      this.editor.clear()
      this.armedExit = false
      return this.refresh()
    }
    // Only a Ctrl-C on the empty input arms the exit: one that just interrupted a run or
    // cleared the input (however quickly after) never exits on its own.
    if (this.armedExit) return this.finish(0)
    this.armedExit = true
    if (!this.raw) this.dim('(press Ctrl-C again to exit)')
    this.refresh()
  }

  private onEscape() {
    if (this.current) return this.interruptRun()
    const now = Date.now()
    if (this.editor.text !== '' && now - this.lastEscape < 1000) {
      this.editor.clear()
      this.refresh()
    }
    this.lastEscape = now
  }

  private interruptRun() {
    const run = this.current
    if (!run || run.aborted) return
    run.aborted = true
    // Prompts queued behind the run go back into the input box, to send or change.
    const queued = this.controller.abort()
    if (queued.length > 0) {
      const draft = [...queued, ...(this.editor.text === '' ? [] : [this.editor.text])].join('\n')
      this.editor.setText(draft)
    }
    this.refresh()
  }

  private cycleMode() {
    const permissions = this.controller.session.permissions
    if (!permissions) return
    const cycle =
      this.startMode === 'bypassPermissions' ? [...MODE_CYCLE, 'bypassPermissions' as const] : MODE_CYCLE
    const index = cycle.indexOf(permissions.mode)
    permissions.setMode(cycle[(index + 1) % cycle.length]!)
    this.refresh()
  }

  /** A prompt or command the user sent: the controller runs it now, or queues it while busy. */
  private submit(text: string, shown = text) {
    if (this.finished) return
    const line = text.trim()
    if (line === '') return this.refresh()
    this.armedExit = false
    if (!/^\/(exit|quit)\s*$/.test(line)) void this.history?.add(text).catch(() => undefined)
    if (this.history) this.editor.setHistory(this.history.list)
    if (shown !== text) this.shown.set(text, shown)
    if (this.controller.working && !this.raw) this.dim(`(queued: ${truncate(line, this.columns - 12)})`)
    void this.controller.submit(text).then(() => this.refreshCommands())
    this.refresh()
  }

  /** Commands come and go (files, MCP servers): listed again after each line for Tab. */
  private async refreshCommands(): Promise<void> {
    try {
      this.commands = (await this.controller.commands()).commands
    } catch {
      // Keep the last list.
    }
  }

  private startTicker() {
    if (!this.raw || this.ticker) return
    this.ticker = setInterval(() => this.refresh(), 100)
    this.ticker.unref?.()
  }

  private stopTicker() {
    if (this.ticker) clearInterval(this.ticker)
    this.ticker = undefined
  }
}
