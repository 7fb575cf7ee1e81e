/**
 * The SessionController: the session logic every frontend shares. It owns the agent session
 * (and replaces it for /clear, /model, /resume), runs prompts and queues those sent while busy,
 * runs slash commands (built-in session commands and prompt commands alike), `# text` memory,
 * mode changes and abort, and asks questions through the frontend's UserInteraction — or, when
 * the frontend gives none, puts them on its QuestionBoard to be answered by id. A frontend
 * renders its events and sends it lines: the terminal, headless, an HTTP server, an editor.
 */
import { addUsage, isTauError, type Usage } from '../../kernel/index.js'
import type {
  AgentEvent,
  AgentRuntime,
  AgentSession,
  AgentSessionOptions,
  RunOptions,
  UserInteraction,
} from '../agent/index.js'
import type { MemoryService } from '../memory/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { SessionService } from '../session/index.js'
import {
  type CommandContext,
  parseSlash,
  type SlashCommand,
  type SlashCommandList,
  type SlashCommands,
} from '../slash-commands/index.js'
import { bindHost, builtinCommands, type CommandHost } from './builtin-commands.js'
import type { AnswerOf, ControllerEvent, PendingQuestion, Tone } from './events.js'
import { QuestionBoard } from './question-board.js'

/** A frontend's ways to ask: the session's UserInteraction, plus picking one of a list (/resume). */
export interface ControllerFrontend extends UserInteraction {
  choose?(
    title: string,
    options: ReadonlyArray<{ label: string; value: string }>,
    signal?: AbortSignal,
  ): Promise<string | undefined>
}

export interface SessionControllerOptions {
  readonly runtime: AgentRuntime
  /** The session to open (resume: its id, conversation ...). */
  readonly sessionOptions: AgentSessionOptions
  /**
   * Who asks the user. Left out, questions wait on the controller's board (`pending()`,
   * `answer(id, ...)`, `question` events): what an HTTP server or an editor adapter wants.
   */
  readonly frontend?: ControllerFrontend
  readonly sessions?: SessionService
  readonly memory?: MemoryService
  readonly slashCommands?: SlashCommands
  /** Per-run limits (headless: `--max-turns`). */
  readonly runOptions?: Omit<RunOptions, 'signal'>
  /** Extra /help rows (the terminal's keys). */
  readonly helpExtra?: ReadonlyArray<readonly [string, string]>
  /**
   * A `/name` no source knows: `error` says so (the terminal), `prompt` sends the line to the
   * model as typed (`tau start -p "/path/to/file is empty"`). Default `error`.
   */
  readonly unknownCommands?: 'error' | 'prompt'
}

export type Listener = (event: ControllerEvent) => void

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return isTauError(error) ? `${text} (${error.hint})` : text
}

export class SessionController {
  private current: AgentSession | undefined
  private options: AgentSessionOptions
  private readonly listeners = new Set<Listener>()
  private readonly board: QuestionBoard
  private readonly frontend: ControllerFrontend
  private readonly builtins = builtinCommands()
  private readonly queued: Array<{ readonly text: string; readonly done: () => void }> = []
  private run: AbortController | undefined
  private busy = false
  private closed = false
  private total: Usage = { inputTokens: 0, outputTokens: 0 }
  private totalCost = 0
  private costKnown = false
  /** `context NN%` after each run, when the session plugin knows the model's window. */
  contextUse: string | undefined

  constructor(private readonly deps: SessionControllerOptions) {
    this.board = new QuestionBoard((event) => this.emit(event))
    this.frontend = deps.frontend ?? {
      ...this.board.interaction(),
      choose: (t, o, s) => this.boardChoose(t, o, s),
    }
    this.options = { ...deps.sessionOptions, interaction: this.frontend }
  }

  /** The agent session (opened at the first use). */
  get session(): AgentSession {
    this.current ??= this.deps.runtime.createSession(this.options)
    return this.current
  }

  /** Opens the session now: throws what a bad option (a model, a rule) throws. */
  open(): AgentSession {
    return this.session
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(event: ControllerEvent): void {
    for (const listener of this.listeners) listener(event)
  }

  private say(text: string, tone: Tone = 'info'): void {
    this.emit({ type: 'output', text, tone })
  }

  /** True while a run or a command is being handled. */
  get working(): boolean {
    return this.busy
  }

  get running(): boolean {
    return this.run !== undefined
  }

  /** The prompts waiting behind the current run or command. */
  get queue(): readonly string[] {
    return this.queued.map((q) => q.text)
  }

  // ---- input ------------------------------------------------------------------------------

  /**
   * A line from the user: a prompt, a slash command or `# text`. While something is handled it
   * waits in the queue; resolves once this line (and what was queued before it) is handled.
   */
  submit(text: string): Promise<void> {
    if (this.closed || text.trim() === '') return Promise.resolve()
    return new Promise((resolve) => {
      const item = { text, done: resolve }
      if (this.busy) this.queued.push(item)
      else void this.handle(item)
    })
  }

  private async handle(item: { readonly text: string; readonly done: () => void }): Promise<void> {
    this.busy = true
    this.emit({ type: 'input', text: item.text })
    try {
      await this.dispatch(item.text)
    } catch (error) {
      this.emit({
        type: 'output',
        text: `error: ${messageOf(error)}`,
        tone: 'error',
        ...(isTauError(error) ? { code: error.code } : {}),
      })
    } finally {
      this.busy = false
      item.done()
    }
    const next = this.queued.shift()
    if (next !== undefined && !this.closed) return this.handle(next)
    this.emit({ type: 'idle' })
  }

  /** Aborts the run going on; the prompts queued behind it are taken back (returned, to edit). */
  abort(): string[] {
    const taken = this.queued.splice(0)
    for (const item of taken) item.done()
    this.run?.abort(new Error('interrupted'))
    return taken.map((item) => item.text)
  }

  /** Lists every command: the built-ins first, then the registry's (files, MCP prompts, plugins). */
  async commands(): Promise<SlashCommandList> {
    const listed = await this.deps.slashCommands?.list({ sessionId: this.session.id })
    if (!listed) return { commands: this.builtins, problems: [] }
    const names = new Set(listed.commands.map((c) => c.name))
    // The registry lists the built-ins when the session-controller plugin provides them.
    return {
      commands: [...this.builtins.filter((c) => !names.has(c.name)), ...listed.commands],
      problems: listed.problems,
    }
  }

  private async dispatch(text: string): Promise<void> {
    const line = text.trim()
    if (line.startsWith('#') && !line.startsWith('#!')) return this.remember(line)
    const slash = parseSlash(line)
    if (!slash) return this.prompt(text)
    const command = await this.find(slash.name)
    if (!command) {
      if (this.deps.unknownCommands === 'prompt') return this.prompt(text)
      return this.say(`unknown command /${slash.name} (try /help)`, 'error')
    }
    const controller = new AbortController()
    if (command.run) return command.run(slash.args, this.commandContext(controller.signal))
    const prompt = await command.expand!(slash.args, { signal: controller.signal })
    this.say(`/${command.name}: ${prompt.length > 80 ? `${prompt.slice(0, 79)}…` : prompt}`, 'dim')
    return this.prompt(prompt)
  }

  private async find(name: string): Promise<SlashCommand | undefined> {
    const builtin = this.builtins.find((c) => c.name === name)
    if (builtin) return builtin
    const found = await this.deps.slashCommands?.find(`/${name}`, { sessionId: this.session.id })
    return found?.command
  }

  private commandContext(signal: AbortSignal): CommandContext {
    const context: CommandContext = {
      sessionId: this.session.id,
      signal,
      say: (text, tone) => this.say(text, tone),
    }
    return bindHost(context, this.host())
  }

  private host(): CommandHost {
    const controller = this
    return {
      get session() {
        return controller.session
      },
      sessions: this.deps.sessions,
      say: (text, tone) => this.say(text, tone),
      replaceSession: (changes, what) => this.replaceSession(changes, what),
      setMode: (mode) => this.setMode(mode),
      usageText: () => this.usageText(),
      canChoose: this.frontend.choose !== undefined,
      choose: (title, options) => this.frontend.choose?.(title, options) ?? Promise.resolve(undefined),
      commands: () => this.commands(),
      helpExtra: this.deps.helpExtra ?? [],
      updateContext: () => this.updateContext(),
      exit: () => this.emit({ type: 'exit' }),
    }
  }

  // ---- runs -------------------------------------------------------------------------------

  /** Runs one prompt in the session; its events go to the listeners. */
  prompt(text: string): Promise<void> {
    return this.play(text, (options) => this.session.run(text, options))
  }

  /**
   * Goes on with the session's interrupted run (`--continue` without a prompt): no user message
   * is invented (AgentSession.continue()).
   */
  continueRun(): Promise<void> {
    return this.play('', (options) => this.session.continue(options))
  }

  private async play(
    label: string,
    start: (options: RunOptions) => AsyncIterable<AgentEvent>,
  ): Promise<void> {
    const controller = new AbortController()
    this.run = controller
    this.emit({ type: 'run-start', prompt: label })
    let error: { message: string; code?: string } | undefined
    try {
      for await (const event of start({ ...this.deps.runOptions, signal: controller.signal })) {
        if (event.type === 'result' && event.parentToolCallId === undefined) {
          this.total = addUsage(this.total, event.usage)
          if (event.costUsd !== undefined) {
            this.totalCost += event.costUsd
            this.costKnown = true
          }
        }
        this.emit({ type: 'agent', event })
      }
    } catch (caught) {
      error = { message: messageOf(caught), ...(isTauError(caught) ? { code: caught.code } : {}) }
    } finally {
      this.run = undefined
    }
    this.emit(
      error === undefined
        ? { type: 'run-end' }
        : { type: 'run-end', error: error.message, ...(error.code ? { code: error.code } : {}) },
    )
    await this.updateContext()
  }

  /** The signal of the run going on (aborted by abort()). */
  get runSignal(): AbortSignal | undefined {
    return this.run?.signal
  }

  private usageText(): string {
    const cost = this.costKnown ? ` · $${this.totalCost.toFixed(4)}` : ''
    const tokens = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n))
    return `${tokens(this.total.inputTokens)} in · ${tokens(this.total.outputTokens)} out${cost}`
  }

  /** Tokens and cost of this controller's runs so far. */
  get usage(): { readonly usage: Usage; readonly costUsd: number | undefined } {
    return { usage: this.total, costUsd: this.costKnown ? this.totalCost : undefined }
  }

  async updateContext(): Promise<void> {
    const sessions = this.deps.sessions
    if (!sessions || !this.current) return
    try {
      const count = await sessions.tokens(this.current.id)
      this.contextUse =
        count.window === undefined ? undefined : `context ${Math.round((100 * count.used) / count.window)}%`
    } catch {
      this.contextUse = undefined
    }
  }

  // ---- session changes --------------------------------------------------------------------

  /** Sets the permission mode (a command, Shift-Tab, an editor's mode switch). */
  setMode(mode: PermissionMode) {
    const permissions = this.session.permissions
    if (!permissions) return this.say('permission modes need the permissions plugin, which is not loaded')
    permissions.setMode(mode)
    this.emit({ type: 'mode', mode })
    this.say(`permission mode: ${mode}`, 'success')
  }

  /** A new agent session in place of the current one, keeping the mode (and what `changes` keep). */
  async replaceSession(changes: Partial<AgentSessionOptions>, what: string): Promise<void> {
    const mode = this.current?.permissions?.mode
    const reset = { id: undefined, conversation: undefined, todos: undefined, systemPrompt: undefined }
    const options: AgentSessionOptions = {
      ...this.options,
      ...reset,
      ...(mode !== undefined ? { permissionMode: mode } : {}),
      ...changes,
    }
    const next = this.deps.runtime.createSession(options)
    const previous = this.current
    this.current = next
    this.options = { ...options, ...reset }
    await previous?.close('clear')
    this.contextUse = undefined
    this.emit({ type: 'session', sessionId: next.id, reason: what })
    this.say(what, 'dim')
  }

  /** `# text`: appended to the project TAU.md by the memory plugin; not sent to the model. */
  private async remember(line: string): Promise<void> {
    const memory = this.deps.memory
    if (!memory) return this.say('# adds to memory with the memory plugin, which is not loaded')
    const text = line.replace(/^#\s*/, '').trim()
    if (text === '') return this.say('usage: # text to remember (added to the project TAU.md)')
    const file = await memory.addMemory(text, 'project')
    this.say(`remembered in ${file}`, 'success')
  }

  // ---- questions --------------------------------------------------------------------------

  /** The questions waiting on the board (only when the controller asks itself: no frontend given). */
  pending(): PendingQuestion[] {
    return this.board.pending()
  }

  /** Answers a pending question by id; false when there is none (answered, withdrawn). */
  answer<K extends PendingQuestion['kind']>(id: string, answer: AnswerOf[K]): boolean {
    return this.board.answer<K>(id, answer)
  }

  private boardChoose(
    title: string,
    options: ReadonlyArray<{ label: string; value: string }>,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    return this.board.ask<'choice'>({ kind: 'choice', title, options: [...options] }, signal, undefined)
  }

  /** Aborts the run, withdraws the questions, closes the session. Idempotent. */
  async close(reason = 'exit'): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const item of this.queued.splice(0)) item.done()
    this.run?.abort(new Error('exit'))
    this.board.withdrawAll()
    await this.current?.close(reason)
  }
}
