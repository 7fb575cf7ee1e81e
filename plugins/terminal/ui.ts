/**
 * The interactive session: one agent session, the event stream rendered as it arrives (Markdown,
 * tool calls with a live spinner, diffs, todos), an input box that stays usable while the agent
 * works (prompts typed meanwhile are queued), questions (permissions, plan approval) answered
 * with the arrow keys or a number, slash commands, and Ctrl-C / Esc handling.
 *
 * On a TTY the keys are read raw and the screen keeps a live area (screen.ts). Without one (tests
 * with streams, a pipe) lines are read and output is printed as plain lines.
 */
import { relative } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { addUsage, isTauError, type Usage } from '../../kernel/index.js'
import type {
  AgentEvent,
  AgentRuntime,
  AgentSession,
  AgentSessionOptions,
  PermissionAnswer,
  PermissionRequest,
  PlanApproval,
  PlanApprovalRequest,
} from '../agent/index.js'
import type { InteractiveRunContext } from '../headless/index.js'
import type { MemoryService } from '../memory/index.js'
import type { PermissionMode, Permissions } from '../permissions/index.js'
import type { SessionService } from '../session/index.js'
import { parseSlash, type SlashCommand, type SlashCommands } from '../slash-commands/index.js'
import { Choice, type ChoiceAction, type ChoiceOption } from './choice.js'
import { Editor, type EditorAction, type Key } from './editor.js'
import { PromptHistory } from './history.js'
import { KeyInput } from './keys.js'
import { MarkdownStream } from './markdown.js'
import { type Asker, mcpQuestions } from './mcp-questions.js'
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
import { Screen } from './screen.js'
import { cutRow, type Row, rowWidth, type SpanStyle, span, wrap } from './text.js'

export interface TerminalOptions {
  readonly runtime: AgentRuntime
  readonly projectDir: string
  readonly sessionOptions: AgentSessionOptions
  readonly env?: NodeJS.ProcessEnv
  /** Two Ctrl-C within this long exit (default 1000 ms). */
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

const BUILTINS: ReadonlyArray<readonly [string, string]> = [
  ['/help', 'this list'],
  ['/clear', 'start a new conversation'],
  ['/model REF', 'switch the model (provider:model), keeping the conversation'],
  ['/plan', 'switch to plan mode (read-only tools)'],
  ['/mode MODE', 'default, acceptEdits, plan (Shift-Tab cycles)'],
  ['/permissions', 'list the permission rules in force'],
  ['/cost', 'tokens and cost of this session'],
  ['/context', 'how full the context window is'],
  ['/compact [focus]', 'summarise the conversation so far to free context'],
  ['/resume', 'go on with an earlier session of this project'],
  ['# text', 'remember text in the project TAU.md'],
  ['/exit', 'leave (also Ctrl-D, or Ctrl-C twice)'],
]

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

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const MODE_CYCLE: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan']
const MODES: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions']

function isTTY(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return isTauError(error) ? `${text} (${error.hint})` : text
}

/** A tool call going on, for the status line. */
interface Activity {
  readonly name: string
  readonly summary: string
  readonly started: number
  readonly parent: string | undefined
  progress?: string
}

interface RunState {
  readonly controller: AbortController
  readonly started: number
  readonly md: MarkdownStream
  readonly tools: Map<string, Activity>
  /** Task call id -> the subagent's type, for nesting its calls. */
  readonly tasks: Map<string, string>
  thinking: boolean
  /** Rows of the current assistant message were printed (no gap before the next ones). */
  inText: boolean
  printedText: boolean
  tokens: number
}

type Question =
  | {
      readonly kind: 'choice'
      readonly choice: Choice<unknown>
      readonly resolve: (action: ChoiceAction<unknown> & { rest?: string }) => void
    }
  | {
      readonly kind: 'text'
      readonly label: string
      readonly editor: Editor
      readonly resolve: (text: string | undefined) => void
    }

export class TerminalSession {
  private readonly color: boolean
  private readonly screen: Screen
  private readonly raw: boolean
  private keys: KeyInput | undefined
  private rl: Interface | undefined
  private session!: AgentSession
  private sessionOptions: AgentSessionOptions
  private commands: readonly SlashCommand[] = []
  private readonly editor = new Editor()
  private readonly history: PromptHistory | undefined
  private current: RunState | undefined
  /** Prompts sent while a run goes on: what to send, and what the box showed. */
  private readonly queue: Array<{ readonly text: string; readonly shown: string }> = []
  private question: Question | undefined
  /** A command (/compact, /resume ...) or run is being handled: new input waits in the queue. */
  private busy = false
  private lastInterrupt = 0
  private lastEscape = 0
  private armedExit = false
  private pendingSubmit: NodeJS.Immediate | undefined
  private ticker: NodeJS.Timeout | undefined
  private contextUse: string | undefined
  private lastBlank = true
  private total: Usage = { inputTokens: 0, outputTokens: 0 }
  private totalCost = 0
  private costKnown = false
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
    // The session's UserInteraction: permissions, and what MCP servers ask during its calls.
    this.sessionOptions = {
      ...options.sessionOptions,
      interaction: {
        ...mcpQuestions(this.asker),
        askPermission: (request) => this.askPermission(request),
        approvePlan: (request) => this.exclusive(() => this.planQuestion(request)),
      },
    }
    this.startMode = options.sessionOptions.permissionMode
    this.history = options.tauHome ? PromptHistory.at(options.tauHome, options.projectDir) : undefined
  }

  private get columns(): number {
    // Laid out for at least 20 columns; on a narrower terminal the screen counts the wrapped rows.
    return Math.max(20, Math.min(this.screen.columns, 200))
  }

  private get permissions(): Permissions | undefined {
    return this.session.permissions
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
    const width = this.columns
    const rows: Row[] = []
    const run = this.current
    if (run) {
      rows.push(...run.md.pending())
      rows.push(this.statusRow(run, width))
    }
    for (const queued of this.queue)
      rows.push(cutRow([span('  ↳ queued: ', { dim: true }), span(truncate(queued.shown, width))], width))
    const question = this.question
    let cursor: { row: number; col: number } | undefined
    if (question?.kind === 'choice') {
      rows.push(...question.choice.rows(width, this.color))
      rows.push([span('  ↑/↓ to move · Enter to choose · Esc to cancel', { dim: true })])
    } else {
      const editor = question?.kind === 'text' ? question.editor : this.editor
      if (question?.kind === 'text') rows.push(...wrap([span(question.label, { bold: true })], width))
      rows.push([span('─'.repeat(width), { dim: true })])
      const layout = editor.layout(width, [span('> ', { bold: true })], Math.max(3, this.screen.rows - 8))
      cursor = { row: rows.length + layout.cursor.row, col: layout.cursor.col }
      rows.push(...layout.rows)
      rows.push([span('─'.repeat(width), { dim: true })])
      rows.push(...this.footerRows(width, question?.kind === 'text'))
    }
    this.screen.render(rows, cursor)
  }

  private statusRow(run: RunState, width: number): Row {
    const elapsed = Date.now() - run.started
    const frame = SPINNER[Math.floor(elapsed / 100) % SPINNER.length]!
    let what = 'Working…'
    const tools = [...run.tools.values()]
    const latest = tools.at(-1)
    if (this.question) what = 'Waiting for your answer…'
    else if (latest) {
      const task = latest.parent !== undefined ? run.tasks.get(latest.parent) : undefined
      const head = `${task ? `${task} › ` : ''}${latest.name}${latest.summary ? `(${latest.summary})` : ''}`
      what = `${head} ${formatDuration(Date.now() - latest.started)}${latest.progress ? ` · ${latest.progress}` : ''}${tools.length > 1 ? ` (+${tools.length - 1} more)` : ''}`
    } else if (run.thinking) what = 'Thinking…'
    const tokens = run.tokens > 0 ? ` · ${formatTokens(run.tokens)} tokens` : ''
    return cutRow(
      [
        span(`${frame} `, { color: 'magenta' }),
        span(truncate(what, width), { color: 'magenta' }),
        span(` (${formatDuration(elapsed)}${tokens} · esc to interrupt)`, { dim: true }),
      ],
      width,
    )
  }

  private footerRows(width: number, answering: boolean): Row[] {
    if (answering) return [[span('  Enter to send · Esc to skip', { dim: true })]]
    const search = this.editor.searching
    if (search)
      return [
        cutRow(
          [
            span(`  history search: ${search.query}`, {
              color: search.found || search.query === '' ? 'cyan' : 'red',
            }),
            span(
              search.found || search.query === ''
                ? '  (Ctrl-R older · Enter to edit · Esc to cancel)'
                : '  (no match)',
              {
                dim: true,
              },
            ),
          ],
          width,
        ),
      ]
    const text = this.editor.text
    if (text.startsWith('/') && !/\s/.test(text)) {
      const matches = this.completions(text.slice(1)).slice(0, 6)
      if (matches.length > 0)
        return matches.map(([name, description]) =>
          cutRow([span(`  ${name.padEnd(20)} `, { color: 'cyan' }), span(description, { dim: true })], width),
        )
    }
    if (this.armedExit) return [[span('  Press Ctrl-C again to exit', { color: 'yellow' })]]
    const mode = this.permissions?.mode
    const left: Row =
      mode === 'acceptEdits'
        ? [span('  ⏵⏵ accept edits on', { color: 'magenta' }), span(' (shift+tab to cycle)', { dim: true })]
        : mode === 'plan'
          ? [span('  ⏸ plan mode on', { color: 'cyan' }), span(' (shift+tab to cycle)', { dim: true })]
          : mode === 'bypassPermissions'
            ? [
                span('  ⏵⏵ bypass permissions on', { color: 'red' }),
                span(' (shift+tab to cycle)', { dim: true }),
              ]
            : [span('  /help for commands · shift+tab for modes', { dim: true })]
    const right = this.contextUse ? [span(`  ${this.contextUse}`, { dim: true })] : []
    return [cutRow([...left, ...right], width)]
  }

  /** Built-in and custom command names starting with `prefix`, with their descriptions. */
  private completions(prefix: string): Array<[string, string]> {
    const builtins = BUILTINS.filter(([name]) => name.startsWith('/')).map(
      ([name, text]): [string, string] => [name.split(' ')[0]!, text],
    )
    const custom = this.commands.map((c): [string, string] => [`/${c.name}`, c.description])
    return [...builtins, ...custom].filter(([name]) => name.slice(1).startsWith(prefix))
  }

  // ---- the session ---------------------------------------------------------------------

  async run(): Promise<number> {
    try {
      this.session = this.options.runtime.createSession(this.sessionOptions)
    } catch (error) {
      this.context.stderr.write(`tau: ${messageOf(error)}\n`)
      return 1
    }
    const [loaded] = await Promise.all([
      this.options.slashCommands?.list() ?? Promise.resolve({ commands: [], problems: [] }),
      this.history?.load(),
    ])
    this.commands = loaded.commands
    if (this.history) this.editor.setHistory(this.history.list)
    const done = new Promise<number>((resolve) => {
      this.finish = (code) => {
        if (this.finished) return
        this.finished = true
        resolve(code)
      }
    })
    this.print([
      ...wrap(
        [span('tau', { bold: true }), span(` · ${this.session.model} · ${this.session.cwd}`)],
        this.columns,
      ),
      ...wrap(
        [
          span('Type a prompt, /help for commands, Esc or Ctrl-C to interrupt, Ctrl-D to exit.', {
            dim: true,
          }),
        ],
        this.columns,
      ),
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
      this.rl.on('close', () => {
        this.current?.controller.abort(new Error('exit'))
        this.finish(0)
      })
    }
    const onAbort = () => {
      this.current?.controller.abort(new Error('signal'))
      this.finish(130)
    }
    this.context.signal.addEventListener('abort', onAbort, { once: true })
    this.refresh()
    const code = await done
    this.context.signal.removeEventListener('abort', onAbort)
    this.current?.controller.abort(new Error('exit'))
    this.stopTicker()
    this.screen.close()
    this.keys?.stop()
    this.rl?.close()
    await this.session.close('exit')
    return code
  }

  private exit(code: number) {
    this.finish(code)
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
        return this.exit(0)
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
    const names = this.completions(text.slice(1)).map(([name]) => name)
    if (names.length === 0) return
    let common = names[0]!
    for (const name of names) while (!name.startsWith(common)) common = common.slice(0, -1)
    this.editor.setText(names.length === 1 ? `${common} ` : common)
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

  private onInterrupt() {
    const now = Date.now()
    const quick = now - this.lastInterrupt < (this.options.doubleInterruptMs ?? 1000)
    this.lastInterrupt = now
    if (this.current) {
      if (quick) return this.exit(130)
      this.interruptRun()
      return
    }
    if (this.editor.text !== '') {
      this.editor.clear()
      this.armedExit = false
      return this.refresh()
    }
    if (this.armedExit || quick) return this.exit(0)
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
    if (!run || run.controller.signal.aborted) return
    // Prompts queued behind the run go back into the input box, to send or change.
    const queued = this.queue.splice(0)
    if (queued.length > 0) {
      const draft = [
        ...queued.map((q) => q.text),
        ...(this.editor.text === '' ? [] : [this.editor.text]),
      ].join('\n')
      this.editor.setText(draft)
    }
    run.controller.abort(new Error('interrupted'))
    this.refresh()
  }

  private cycleMode() {
    const permissions = this.permissions
    if (!permissions) return
    const cycle =
      this.startMode === 'bypassPermissions' ? [...MODE_CYCLE, 'bypassPermissions' as const] : MODE_CYCLE
    const index = cycle.indexOf(permissions.mode)
    permissions.setMode(cycle[(index + 1) % cycle.length]!)
    this.refresh()
  }

  /** A prompt or command the user sent: run now, or queue it while a run goes on. */
  private submit(text: string, shown = text) {
    if (this.finished) return
    const line = text.trim()
    if (line === '') return this.refresh()
    this.armedExit = false
    if (!/^\/(exit|quit)\s*$/.test(line)) void this.history?.add(text).catch(() => undefined)
    if (this.history) this.editor.setHistory(this.history.list)
    if (this.current || this.busy) {
      this.queue.push({ text, shown })
      if (!this.raw) this.dim(`(queued: ${truncate(line, this.columns - 12)})`)
      return this.refresh()
    }
    void this.handle({ text, shown })
  }

  private async handle(item: { readonly text: string; readonly shown: string }): Promise<void> {
    this.busy = true
    try {
      await this.dispatch(item.text, item.shown)
    } catch (error) {
      this.say(`error: ${messageOf(error)}`, { color: 'red' })
    } finally {
      this.busy = false
    }
    const next = this.queue.shift()
    if (next !== undefined && !this.finished) return this.handle(next)
    this.refresh()
  }

  private echo(text: string) {
    if (!this.raw) return
    this.gap()
    const rows: Row[] = []
    text.split('\n').forEach((line, i) => {
      rows.push(
        ...wrap([span(line, { color: 'gray' })], this.columns, {
          first: [span(i === 0 ? '> ' : '  ', { color: 'gray', bold: true })],
        }),
      )
    })
    this.print(rows)
  }

  private async dispatch(text: string, shown: string): Promise<void> {
    const line = text.trim()
    if (line.startsWith('#') && !line.startsWith('#!')) {
      this.echo(line)
      return this.remember(line)
    }
    const slash = parseSlash(line)
    if (!slash) {
      this.echo(shown)
      return this.runPrompt(text)
    }
    this.echo(line)
    switch (slash.name) {
      case 'help':
        return this.help()
      case 'exit':
      case 'quit':
        return this.exit(0)
      case 'clear':
        return this.replaceSession({}, 'new conversation')
      case 'model':
        if (slash.args.trim() === '') return this.say(`model: ${this.session.model} (usage: /model REF)`)
        return this.replaceSession(
          { model: slash.args.trim(), conversation: this.session.conversation, todos: this.session.todos },
          `model: ${slash.args.trim()}`,
        )
      case 'plan':
        return this.setMode('plan')
      case 'mode':
        return this.setMode(slash.args.trim() as PermissionMode)
      case 'permissions':
        return this.listPermissions()
      case 'cost':
        return this.say(`session: ${usageLine(this.total, this.costKnown ? this.totalCost : undefined)}`)
      case 'context':
        return this.showContext()
      case 'compact':
        return this.compact(slash.args.trim())
      case 'resume':
        return this.resume(slash.args.trim())
    }
    const found = await this.options.slashCommands?.find(line)
    if (!found) return this.say(`unknown command /${slash.name} (try /help)`, { color: 'red' })
    const controller = new AbortController()
    const prompt = await found.command.expand(found.args, { signal: controller.signal })
    this.dim(`/${found.command.name}: ${truncate(prompt, this.columns - 4 - found.command.name.length)}`)
    return this.runPrompt(prompt)
  }

  // ---- commands ------------------------------------------------------------------------------

  private async help(): Promise<void> {
    const listed = await this.options.slashCommands?.list()
    if (listed) this.commands = listed.commands
    const rows: Row[] = [[span('Commands', { bold: true })]]
    const entry = (name: string, text: string): Row =>
      cutRow([span(`  ${name.padEnd(18)} `), span(text, { dim: true })], this.columns)
    for (const [name, text] of BUILTINS) rows.push(entry(name, text))
    for (const command of this.commands) {
      const name = `/${command.name}${command.argumentHint ? ` ${command.argumentHint}` : ''}`
      rows.push(entry(name, `${command.description} (${command.source})`))
    }
    if (this.raw) {
      rows.push([span('Keys', { bold: true })])
      for (const [name, text] of KEYS_HELP) rows.push(entry(name, text))
    }
    this.print(rows)
  }

  /** `/compact [focus]`: the session plugin compacts the open session now. */
  private async compact(focus: string): Promise<void> {
    const sessions = this.options.sessions
    if (!sessions) return this.say('/compact needs the session plugin, which is not loaded')
    this.dim(focus === '' ? 'compacting…' : `compacting (focus: ${focus})…`)
    const result = await sessions.compact(this.session.id, focus === '' ? undefined : focus)
    const parts = [`${result.tokensBefore} → ${result.tokensAfter} tokens`]
    parts.push(`${result.clearedResults} tool result${result.clearedResults === 1 ? '' : 's'} cleared`)
    parts.push(
      result.summarizedMessages === 0
        ? 'no summary needed'
        : `${result.summarizedMessages} message${result.summarizedMessages === 1 ? '' : 's'} summarised`,
    )
    this.say(`compacted: ${parts.join(', ')}`)
    await this.updateContext()
  }

  private async showContext(): Promise<void> {
    const sessions = this.options.sessions
    if (!sessions) return this.say('/context needs the session plugin, which is not loaded')
    const count = await sessions.tokens(this.session.id)
    const window = count.window
    this.say(
      window === undefined
        ? `context: ${formatTokens(count.used)} tokens (the model's window is not known)`
        : `context: ${formatTokens(count.used)} of ${formatTokens(window)} tokens (${Math.round((100 * count.used) / window)}%)`,
    )
  }

  private async updateContext(): Promise<void> {
    const sessions = this.options.sessions
    if (!sessions) return
    try {
      const count = await sessions.tokens(this.session.id)
      this.contextUse =
        count.window === undefined ? undefined : `context ${Math.round((100 * count.used) / count.window)}%`
    } catch {
      this.contextUse = undefined
    }
  }

  /** `/resume [id]`: pick an earlier session of the project (or the one named) and go on with it. */
  private async resume(id: string): Promise<void> {
    const sessions = this.options.sessions
    if (!sessions) return this.say('/resume needs the session plugin, which is not loaded')
    let target = id
    if (target === '') {
      const list = (await sessions.list())
        .filter((s) => s.id !== this.session.id && !s.subagentOf)
        .slice(0, 9)
      if (list.length === 0) return this.say('no earlier sessions in this project')
      const picked = await this.exclusive(() =>
        this.choose<string>(
          [[span('Resume which session?', { bold: true })]],
          list.map((s) => ({
            label: `${truncate(s.title || '(no prompt)', this.columns - 40)} · ${s.turns} prompt${s.turns === 1 ? '' : 's'} · ${s.updatedAt.slice(0, 16).replace('T', ' ')}`,
            value: s.id,
          })),
        ),
      )
      if (picked.type !== 'picked') return
      target = picked.value
    }
    const plan = await sessions.resume(target)
    for (const warning of plan.warnings) this.say(`warning: ${warning}`, { color: 'yellow' })
    await this.replaceSession({ ...plan.options }, `resumed session ${plan.options.id ?? target}`)
    await this.updateContext()
  }

  /** `# text`: appended to the project TAU.md by the memory plugin; not sent to the model. */
  private async remember(line: string): Promise<void> {
    const memory = this.options.memory
    if (!memory) return this.say('# adds to memory with the memory plugin, which is not loaded')
    const text = line.replace(/^#\s*/, '').trim()
    if (text === '') return this.say('usage: # text to remember (added to the project TAU.md)')
    const file = await memory.addMemory(text, 'project')
    this.say(`remembered in ${file}`, { color: 'green' })
  }

  private async replaceSession(changes: Partial<AgentSessionOptions>, what: string): Promise<void> {
    const mode = this.permissions?.mode
    const options: AgentSessionOptions = {
      ...this.sessionOptions,
      id: undefined,
      conversation: undefined,
      todos: undefined,
      systemPrompt: undefined,
      ...(mode !== undefined ? { permissionMode: mode } : {}),
      ...changes,
    }
    const next = this.options.runtime.createSession(options)
    const previous = this.session
    this.session = next
    this.sessionOptions = {
      ...options,
      id: undefined,
      conversation: undefined,
      todos: undefined,
      systemPrompt: undefined,
    }
    await previous.close('clear')
    this.contextUse = undefined
    this.dim(what)
  }

  private setMode(mode: PermissionMode) {
    const permissions = this.permissions
    if (!permissions) return this.say('permission modes need the permissions plugin, which is not loaded')
    if (!MODES.includes(mode)) return this.say(`usage: /mode ${MODES.slice(0, 3).join('|')}`)
    permissions.setMode(mode)
    this.say(`permission mode: ${mode}`, { color: 'magenta' })
  }

  private listPermissions() {
    const permissions = this.permissions
    if (!permissions)
      return this.say('no permissions service in this session: every call is allowed or denied by the agent')
    const rows: Row[] = [[span(`mode: ${permissions.mode}`)]]
    const rules = permissions.rules()
    if (rules.length === 0) rows.push([span('(no rules)', { dim: true })])
    for (const rule of rules) {
      const where = rule.source.file ? `${rule.source.scope}: ${rule.source.file}` : rule.source.scope
      rows.push(
        cutRow(
          [
            span(`  ${rule.behavior.padEnd(5)} ${truncate(rule.text, 40)}  `),
            span(`(${where})`, { dim: true }),
          ],
          this.columns,
        ),
      )
    }
    for (const problem of permissions.problems())
      rows.push(...wrap([span(`  warning: ${problem.message}`, { color: 'yellow' })], this.columns))
    this.print(rows)
  }

  // ---- questions -------------------------------------------------------------------------------

  private questionLock: Promise<unknown> = Promise.resolve()

  /** Runs `ask` once no other question is open: a permission, an MCP server's form, a plan. */
  private exclusive<T>(ask: () => Promise<T>): Promise<T> {
    const turn = this.questionLock.then(ask, ask)
    this.questionLock = turn.catch(() => undefined)
    return turn
  }

  private get asker(): Asker {
    const terminal = this
    return {
      get columns() {
        return terminal.columns
      },
      choose: (title, options, signal, initial) => this.choose(title, options, signal, initial),
      askText: (label, signal) => this.askText(label, signal),
      say: (text) => this.say(text),
      exclusive: (ask) => this.exclusive(ask),
    }
  }

  /** Asks one of a few answers; on a TTY in the live area, else as numbered lines. */
  private choose<T>(
    title: Row[],
    options: ChoiceOption<T>[],
    signal?: AbortSignal,
    initial = 0,
  ): Promise<(ChoiceAction<T> & { rest?: string }) | { type: 'aborted' }> {
    const choice = new Choice<T>(title, options, initial)
    return new Promise((resolve) => {
      const done = (action: (ChoiceAction<T> & { rest?: string }) | { type: 'aborted' }) => {
        signal?.removeEventListener('abort', onAbort)
        if (this.question?.kind === 'choice' && this.question.choice === choice) this.question = undefined
        resolve(action)
        this.refresh()
      }
      const onAbort = () => done({ type: 'aborted' })
      if (signal?.aborted) return done({ type: 'aborted' })
      signal?.addEventListener('abort', onAbort, { once: true })
      this.question = {
        kind: 'choice',
        choice: choice as Choice<unknown>,
        resolve: (action) => done(action as ChoiceAction<T> & { rest?: string }),
      }
      if (!this.raw) {
        this.print([
          ...title,
          ...options.map((o, i): Row => [span(`  ${i + 1}) ${o.label}`)]),
          [span(`choose [${options.map((_, i) => i + 1).join('/')}]:`)],
        ])
      }
      this.refresh()
    })
  }

  /** Asks for a line of text; undefined when skipped (Esc, Ctrl-C) or aborted. */
  private askText(label: string, signal?: AbortSignal): Promise<string | undefined> {
    const editor = new Editor()
    return new Promise((resolve) => {
      const done = (text: string | undefined) => {
        signal?.removeEventListener('abort', onAbort)
        if (this.question?.kind === 'text' && this.question.editor === editor) this.question = undefined
        resolve(text)
        this.refresh()
      }
      const onAbort = () => done(undefined)
      if (signal?.aborted) return done(undefined)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.question = { kind: 'text', label, editor, resolve: done }
      if (!this.raw) this.say(label)
      this.refresh()
    })
  }

  /** The agent session's askPermission: allow once / always / deny with a reason for the model. */
  askPermission = (request: PermissionRequest): Promise<PermissionAnswer> =>
    this.exclusive(() => this.permissionQuestion(request))

  private async permissionQuestion(request: PermissionRequest): Promise<PermissionAnswer> {
    const width = this.columns
    const title: Row[] = [
      [],
      [
        span(`Allow ${request.toolName}?`, { bold: true, color: 'yellow' }),
        ...(request.agentType !== undefined
          ? [span(` (asked by the ${request.agentType} subagent)`, { dim: true })]
          : []),
      ],
      [span('  '), ...toolStartRow(request.toolName, request.input, width - 2)],
      ...wrap([span(request.reason, { dim: true })], width, { first: [span('  ')] }),
    ]
    const answer = await this.choose<'allow' | 'always' | 'deny'>(
      title,
      [
        { label: 'Yes', letter: 'y', value: 'allow' },
        {
          label: `Yes, and don't ask again for ${truncate(request.suggestedRule, 40)}`,
          letter: 'a',
          value: 'always',
        },
        { label: 'No, and tell the model what to do instead', letter: 'n', value: 'deny' },
      ],
      request.signal,
    )
    if (answer.type === 'aborted') return 'deny'
    if (answer.type === 'interrupt' || answer.type === 'cancel') {
      // Esc or Ctrl-C at the question: no, and stop here to wait for the user (as Claude Code).
      this.interruptRun()
      return { behavior: 'deny', reason: 'The user interrupted instead of answering.' }
    }
    if (answer.type !== 'picked') return 'deny'
    if (answer.value === 'allow') return 'allow'
    if (answer.value === 'always') return { behavior: 'allow-always', rule: request.suggestedRule }
    let reason = answer.rest ?? ''
    if (reason === '')
      reason =
        (
          await this.askText(
            this.raw
              ? 'What should the model do instead? (Enter to just deny)'
              : 'reason for the model (optional):',
            request.signal,
          )
        )?.trim() ?? ''
    return reason === '' ? 'deny' : { behavior: 'deny', reason }
  }

  // ---- runs ------------------------------------------------------------------------------

  private startTicker() {
    if (!this.raw || this.ticker) return
    this.ticker = setInterval(() => this.refresh(), 100)
    this.ticker.unref?.()
  }

  private stopTicker() {
    if (this.ticker) clearInterval(this.ticker)
    this.ticker = undefined
  }

  private async runPrompt(prompt: string): Promise<void> {
    const run: RunState = {
      controller: new AbortController(),
      started: Date.now(),
      md: new MarkdownStream({ color: this.color, width: () => this.columns }),
      tools: new Map(),
      tasks: new Map(),
      thinking: false,
      inText: false,
      printedText: false,
      tokens: 0,
    }
    this.current = run
    this.startTicker()
    this.refresh()
    try {
      for await (const event of this.session.run(prompt, { signal: run.controller.signal }))
        this.render(run, event)
    } catch (error) {
      this.flushText(run)
      this.say(`error: ${messageOf(error)}`, { color: 'red' })
    } finally {
      this.current = undefined
      this.stopTicker()
      this.refresh()
    }
    await this.updateContext()
  }

  /** ExitPlanMode's plan (the session's approvePlan): shown, then approved in a mode or sent back. */
  private async planQuestion(request: PlanApprovalRequest): Promise<PlanApproval> {
    const answer = await this.choose<'acceptEdits' | 'default' | 'revise'>(
      [...this.planRows(request), [], [span('Would you like to proceed with this plan?', { bold: true })]],
      [
        { label: 'Yes, and auto-accept edits', letter: 'a', value: 'acceptEdits' },
        { label: 'Yes, and ask before each edit', letter: 'y', value: 'default' },
        { label: 'No, keep planning (tell the model what to change)', letter: 'n', value: 'revise' },
      ],
      request.signal,
    )
    if (answer.type === 'aborted') return { decision: 'reject', reason: 'the run was interrupted' }
    if (answer.type !== 'picked') {
      // Esc or Ctrl-C at the question: keep planning, and stop here to wait for the user.
      this.interruptRun()
      return { decision: 'reject', reason: 'the user interrupted instead of answering' }
    }
    if (answer.value !== 'revise') {
      this.say(`permission mode: ${answer.value}`, { color: 'magenta' })
      return { decision: 'approve', mode: answer.value }
    }
    const comments =
      answer.rest || (await this.askText('What should change in the plan?', request.signal))?.trim() || ''
    if (comments !== '') return { decision: 'revise', comments }
    this.dim('(still in plan mode)')
    return { decision: 'reject', reason: 'the user wants to keep planning and said nothing more' }
  }

  private flushText(run: RunState) {
    const rows = run.md.end()
    if (rows.length > 0) {
      if (!run.inText) this.gap()
      run.printedText = true
      this.print(rows)
    }
    run.inText = false
  }

  /** One event of the run; a subagent's (parentToolCallId set) nests under its Task call. */
  private render(run: RunState, event: AgentEvent) {
    const width = this.columns
    const parent = event.parentToolCallId
    const indent = parent !== undefined ? 4 : 0
    switch (event.type) {
      case 'text-delta': {
        if (parent !== undefined) return
        run.thinking = false
        const rows = run.md.push(event.text)
        if (rows.length > 0) {
          if (!run.inText) this.gap()
          run.inText = true
          run.printedText = true
          this.print(rows)
        }
        return this.refresh()
      }
      case 'reasoning-delta':
        if (parent === undefined) run.thinking = true
        return
      case 'assistant-message':
        if (parent === undefined) this.flushText(run)
        return
      case 'tool-start': {
        if (parent === undefined) {
          this.flushText(run)
          this.gap()
        }
        run.tools.set(event.id, {
          name: event.name,
          summary: truncate(summarizeInput(event.name, event.input), 40),
          started: Date.now(),
          parent,
        })
        if (
          event.name === 'Task' &&
          typeof (event.input as { subagent_type?: unknown })?.subagent_type === 'string'
        )
          run.tasks.set(event.id, (event.input as { subagent_type: string }).subagent_type)
        this.print([toolStartRow(event.name, event.input, width, indent)])
        return this.refresh()
      }
      case 'tool-progress': {
        const activity = run.tools.get(event.id)
        if (activity) activity.progress = truncate(event.message, 40)
        return
      }
      case 'tool-end': {
        run.tools.delete(event.id)
        const rows: Row[] = [toolEndRow(event.name, event.result, event.durationMs, width, indent)]
        rows.push(...diffRows(event.display, width, 40, indent))
        this.print(rows)
        return this.refresh()
      }
      case 'permission-decision':
        if (event.behavior === 'deny' && event.source !== 'user')
          this.print(
            wrap([span(`✗ ${event.name} denied: ${event.reason}`, { color: 'red' })], width, {
              first: [span(' '.repeat(indent + 2))],
            }),
          )
        return
      case 'todos':
        if (parent !== undefined) return
        return this.print(todoRows(event.todos, width))
      case 'usage':
        if (parent === undefined) run.tokens = event.total.inputTokens + event.total.outputTokens
        return
      case 'notification':
        return this.say(event.message, event.level === 'warn' ? { color: 'yellow' } : { dim: true })
      case 'compaction':
        return this.dim(`(conversation compacted: ${event.tokensBefore} → ${event.tokensAfter} tokens)`)
      case 'error':
        if (parent !== undefined) return
        this.flushText(run)
        return this.say(`error ${event.code}: ${event.message}`, { color: 'red' })
      case 'result': {
        if (parent !== undefined) return
        this.flushText(run)
        if (!run.printedText && event.text.trim() !== '' && !event.isError) {
          const md = new MarkdownStream({ color: this.color, width: () => width })
          this.print([...md.push(`${event.text}\n`), ...md.end()])
        }
        this.total = addUsage(this.total, event.usage)
        if (event.costUsd !== undefined) {
          this.totalCost += event.costUsd
          this.costKnown = true
        }
        const stop =
          event.stopReason === 'aborted'
            ? [span('interrupted · ', { color: 'yellow' })]
            : event.isError
              ? [span(`${event.stopReason} · `, { color: 'red' })]
              : []
        this.gap()
        this.print([
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

  private planRows(plan: { readonly plan: string; readonly file: string }): Row[] {
    const width = this.columns
    const md = new MarkdownStream({ color: this.color, width: () => width - 4 })
    const body = [...md.push(`${plan.plan}\n`), ...md.end()]
    const file = relative(this.session.cwd, plan.file) || plan.file
    return [
      [],
      [span('  Plan', { bold: true }), span(` (saved to ${file})`, { dim: true })],
      ...body.map((row): Row => [span('  │ ', { dim: true }), ...row]),
    ]
  }
}
