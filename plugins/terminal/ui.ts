/**
 * The interactive session: a readline prompt, one agent session, the event stream rendered as
 * it arrives, permission questions, slash commands, Ctrl-C handling.
 */
import { createInterface, type Interface } from 'node:readline'
import { isTauError, type Usage } from '../../kernel/index.js'
import type { AgentEvent } from '../agent/events.js'
import type {
  AgentRuntime,
  AgentSession,
  AgentSessionOptions,
  PermissionAnswer,
  PermissionRequest,
} from '../agent/runtime.js'
import type { InteractiveRunContext } from '../headless/interactive.js'
import type { MemoryService } from '../memory/index.js'
import type { PermissionMode, Permissions } from '../permissions/types.js'
import type { SessionService } from '../session/service.js'
import { parseSlash, type SlashCommand, type SlashCommands } from '../slash-commands/index.js'
import {
  diffLines,
  paint,
  type Style,
  todoLines,
  toolEndLine,
  toolStartLine,
  truncate,
  usageLine,
} from './render.js'

export interface TerminalOptions {
  readonly runtime: AgentRuntime
  readonly projectDir: string
  readonly sessionOptions: AgentSessionOptions
  readonly env?: NodeJS.ProcessEnv
  /** Two Ctrl-C within this long exit (default 1000 ms). */
  readonly doubleInterruptMs?: number
  /** The session plugin's service (`/compact`); undefined when that plugin is not loaded. */
  readonly sessions?: SessionService
  /** The memory plugin's service (`# text`); undefined when that plugin is not loaded. */
  readonly memory?: MemoryService
  /** The slash-commands plugin's registry (custom commands, MCP prompts); undefined without it. */
  readonly slashCommands?: SlashCommands
}

const BUILTINS: ReadonlyArray<readonly [string, string]> = [
  ['/help', 'this list'],
  ['/clear', 'start a new conversation'],
  ['/model REF', 'switch the model (provider:model), keeping the conversation'],
  ['/plan', 'switch to plan mode (read-only tools)'],
  ['/permissions', 'list the permission rules in force'],
  ['/cost', 'tokens and cost of this session'],
  ['/compact [focus]', 'summarise the conversation so far to free context'],
  ['# text', 'remember text in the project TAU.md'],
  ['/exit', 'leave (also Ctrl-D, or Ctrl-C twice)'],
]

function isTTY(stream: unknown): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}

function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: (a.cacheReadTokens ?? 0) + (b.cacheReadTokens ?? 0),
    cacheWriteTokens: (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0),
  }
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return isTauError(error) ? `${text} (${error.hint})` : text
}

export class TerminalSession {
  private readonly style: Style
  private readonly out: NodeJS.WritableStream
  private rl!: Interface
  private session!: AgentSession
  private sessionOptions: AgentSessionOptions
  private commands: readonly SlashCommand[] = []
  private running: AbortController | undefined
  private question: ((line: string) => void) | undefined
  private lastInterrupt = 0
  private armedExit = false
  private atLineStart = true
  private total: Usage = { inputTokens: 0, outputTokens: 0 }
  private totalCost = 0
  private costKnown = false
  private finish!: (code: number) => void
  private finished = false

  constructor(
    private readonly options: TerminalOptions,
    private readonly context: InteractiveRunContext,
  ) {
    const env = options.env ?? process.env
    const columns = (context.stdout as { columns?: number }).columns
    this.style = {
      color: isTTY(context.stdout) && (env.NO_COLOR === undefined || env.NO_COLOR === ''),
      columns: Math.max(40, Math.min(columns ?? 80, 120)),
    }
    this.out = context.stdout
    this.sessionOptions = {
      ...options.sessionOptions,
      askPermission: (request) => this.askPermission(request),
    }
  }

  private write(text: string): void {
    if (text === '') return
    this.out.write(text)
    this.atLineStart = text.endsWith('\n')
  }

  private line(text = ''): void {
    if (!this.atLineStart) this.write('\n')
    this.write(`${text}\n`)
  }

  private get permissions(): Permissions | undefined {
    return (this.session as { permissions?: Permissions }).permissions
  }

  async run(): Promise<number> {
    try {
      this.session = this.options.runtime.createSession(this.sessionOptions)
    } catch (error) {
      this.context.stderr.write(`tau: ${messageOf(error)}\n`)
      return 1
    }
    const loaded = (await this.options.slashCommands?.list()) ?? { commands: [], problems: [] }
    this.commands = loaded.commands
    this.rl = createInterface({
      input: this.context.stdin,
      output: this.context.stdout,
      terminal: isTTY(this.context.stdin),
      historySize: 200,
    })
    const done = new Promise<number>((resolve) => {
      this.finish = (code) => {
        if (this.finished) return
        this.finished = true
        resolve(code)
      }
    })
    this.line(
      `${paint(this.style, 'bold', 'tau')} · ${this.session.model} · ${this.session.cwd}\n${paint(this.style, 'dim', 'Type a prompt, /help for commands, Ctrl-C to interrupt, Ctrl-D to exit.')}`,
    )
    for (const problem of loaded.problems) this.line(paint(this.style, 'yellow', `warning: ${problem}`))
    this.rl.on('line', (line) => this.onLine(line))
    this.rl.on('SIGINT', () => this.onInterrupt())
    this.rl.on('close', () => {
      this.running?.abort(new Error('exit'))
      this.finish(0)
    })
    const onAbort = () => {
      this.running?.abort(new Error('signal'))
      this.finish(130)
    }
    this.context.signal.addEventListener('abort', onAbort, { once: true })
    this.prompt()
    const code = await done
    this.context.signal.removeEventListener('abort', onAbort)
    this.running?.abort(new Error('exit'))
    this.rl.close()
    await this.session.close('exit')
    return code
  }

  private prompt(): void {
    if (this.finished) return
    this.rl.setPrompt(paint(this.style, 'bold', '> '))
    this.atLineStart = true
    this.rl.prompt()
  }

  private onInterrupt() {
    const now = Date.now()
    const quick = now - this.lastInterrupt < (this.options.doubleInterruptMs ?? 1000)
    this.lastInterrupt = now
    if (this.running) {
      if (quick) return this.exit(130)
      this.line(paint(this.style, 'yellow', '^C interrupting…'))
      this.running.abort(new Error('interrupted'))
      return
    }
    if (this.armedExit || quick) return this.exit(0)
    this.armedExit = true
    this.line(paint(this.style, 'dim', '(press Ctrl-C again to exit)'))
    this.prompt()
  }

  private exit(code: number): void {
    this.line()
    this.finish(code)
  }

  private onLine(raw: string) {
    if (this.question) {
      const answer = this.question
      this.question = undefined
      answer(raw)
      return
    }
    if (this.running) {
      this.line(paint(this.style, 'dim', '(busy: wait for the answer, or Ctrl-C to interrupt)'))
      return
    }
    this.armedExit = false
    const line = raw.trim()
    if (line === '') return this.prompt()
    void this.handle(line)
      .catch((error: unknown) => this.line(paint(this.style, 'red', `error: ${messageOf(error)}`)))
      .finally(() => this.prompt())
  }

  private async handle(line: string): Promise<void> {
    if (line.startsWith('#')) return this.remember(line)
    const slash = parseSlash(line)
    if (!slash) return this.runPrompt(line)
    switch (slash.name) {
      case 'help':
        return this.help()
      case 'exit':
      case 'quit':
        return this.exit(0)
      case 'clear':
        return this.replaceSession({}, 'new conversation')
      case 'model':
        if (slash.args.trim() === '') return this.line(`model: ${this.session.model} (usage: /model REF)`)
        return this.replaceSession(
          { model: slash.args.trim(), conversation: this.session.conversation, todos: this.session.todos },
          `model: ${slash.args.trim()}`,
        )
      case 'plan':
        return this.setMode('plan')
      case 'permissions':
        return this.listPermissions()
      case 'cost':
        return this.line(`session: ${usageLine(this.total, this.costKnown ? this.totalCost : undefined)}`)
      case 'compact':
        return this.compact(slash.args.trim())
    }
    const found = await this.options.slashCommands?.find(line)
    if (!found) return this.line(paint(this.style, 'red', `unknown command /${slash.name} (try /help)`))
    const custom = found.command
    const prompt = await custom.expand(found.args)
    this.line(
      paint(
        this.style,
        'dim',
        `/${custom.name}: ${truncate(prompt, this.style.columns - 4 - custom.name.length)}`,
      ),
    )
    return this.runPrompt(prompt)
  }

  /** `/compact [focus]`: the session plugin compacts the open session now. */
  private async compact(focus: string): Promise<void> {
    const sessions = this.options.sessions
    if (!sessions) return this.line('/compact needs the session plugin, which is not loaded')
    this.line(paint(this.style, 'dim', focus === '' ? 'compacting…' : `compacting (focus: ${focus})…`))
    const result = await sessions.compact(this.session.id, focus === '' ? undefined : focus)
    const parts = [`${result.tokensBefore} → ${result.tokensAfter} tokens`]
    parts.push(`${result.clearedResults} tool result${result.clearedResults === 1 ? '' : 's'} cleared`)
    parts.push(
      result.summarizedMessages === 0
        ? 'no summary needed'
        : `${result.summarizedMessages} message${result.summarizedMessages === 1 ? '' : 's'} summarised`,
    )
    this.line(`compacted: ${parts.join(', ')}`)
  }

  /** `# text`: appended to the project TAU.md by the memory plugin; not sent to the model. */
  private async remember(line: string): Promise<void> {
    const memory = this.options.memory
    if (!memory) return this.line('# adds to memory with the memory plugin, which is not loaded')
    const text = line.replace(/^#\s*/, '').trim()
    if (text === '') return this.line('usage: # text to remember (added to the project TAU.md)')
    const file = await memory.addMemory(text, 'project')
    this.line(paint(this.style, 'green', `remembered in ${file}`))
  }

  private async help(): Promise<void> {
    this.commands = (await this.options.slashCommands?.list())?.commands ?? this.commands
    this.line(paint(this.style, 'bold', 'Commands'))
    for (const [name, text] of BUILTINS) this.line(`  ${name.padEnd(16)} ${text}`)
    for (const command of this.commands) {
      const name = `/${command.name}${command.argumentHint ? ` ${command.argumentHint}` : ''}`
      this.line(`  ${name.padEnd(16)} ${truncate(command.description, this.style.columns - 20)}`)
    }
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
    this.sessionOptions = { ...options, conversation: undefined, todos: undefined }
    await previous.close('clear')
    this.line(paint(this.style, 'dim', what))
  }

  private setMode(mode: PermissionMode) {
    const permissions = this.permissions
    if (!permissions) return this.line('permission modes need the permissions plugin, which is not loaded')
    permissions.setMode(mode)
    this.line(paint(this.style, 'magenta', `permission mode: ${mode}`))
  }

  private listPermissions() {
    const permissions = this.permissions
    if (!permissions)
      return this.line('no permissions service in this session: every call is allowed or denied by the agent')
    this.line(`mode: ${permissions.mode}`)
    const rules = permissions.rules()
    if (rules.length === 0) this.line(paint(this.style, 'dim', '(no rules)'))
    for (const rule of rules) {
      const where = rule.source.file ? `${rule.source.scope}: ${rule.source.file}` : rule.source.scope
      this.line(
        `  ${rule.behavior.padEnd(5)} ${truncate(rule.text, 40)}  ${paint(this.style, 'dim', `(${where})`)}`,
      )
    }
    for (const problem of permissions.problems())
      this.line(
        paint(this.style, 'yellow', `  warning: ${truncate(problem.message, this.style.columns - 12)}`),
      )
  }

  private ask(text: string): Promise<string> {
    return new Promise((resolve) => {
      this.question = resolve
      this.rl.setPrompt(text)
      this.atLineStart = true
      this.rl.prompt()
    })
  }

  /** The agent session's askPermission: a numbered choice, then an optional reason on deny. */
  askPermission = async (request: PermissionRequest): Promise<PermissionAnswer> => {
    const summary = toolStartLine(this.style, request.toolName, request.input)
    this.line(
      paint(this.style, 'yellow', `? Allow ${request.toolName}?`) +
        ` ${paint(this.style, 'dim', truncate(request.reason, this.style.columns - 12 - request.toolName.length))}`,
    )
    this.line(`  ${summary}`)
    this.line(`  1) allow once   2) allow always (${truncate(request.suggestedRule, 30)})   3) deny`)
    const aborted = new Promise<PermissionAnswer>((resolve) => {
      if (request.signal.aborted) resolve('deny')
      request.signal.addEventListener('abort', () => resolve('deny'), { once: true })
    })
    const asking = (async (): Promise<PermissionAnswer> => {
      for (;;) {
        const answer = (await this.ask('choose [1/2/3]: ')).trim()
        const [choice = '', ...rest] = answer.split(/\s+/)
        const lower = choice.toLowerCase()
        if (lower === '1' || lower === 'y' || lower === 'yes') return 'allow'
        if (lower === '2' || lower === 'a' || lower === 'always')
          return { behavior: 'allow-always', rule: request.suggestedRule }
        if (lower === '3' || lower === 'n' || lower === 'no' || lower === 'd' || lower === 'deny') {
          let reason = rest.join(' ')
          if (reason === '') reason = (await this.ask('reason for the model (optional): ')).trim()
          return reason === '' ? 'deny' : { behavior: 'deny', reason }
        }
        this.line('answer 1 (allow once), 2 (allow always) or 3 (deny)')
      }
    })()
    const answer = await Promise.race([asking, aborted])
    if (this.question && request.signal.aborted) this.question = undefined
    return answer
  }

  private async runPrompt(prompt: string): Promise<void> {
    const controller = new AbortController()
    this.running = controller
    try {
      for await (const event of this.session.run(prompt, { signal: controller.signal })) this.render(event)
    } catch (error) {
      this.line(paint(this.style, 'red', `error: ${messageOf(error)}`))
    } finally {
      this.running = undefined
      this.question = undefined
    }
  }

  private render(event: AgentEvent) {
    const s = this.style
    switch (event.type) {
      case 'text-delta':
        return this.write(event.text)
      case 'tool-start':
        return this.line(toolStartLine(s, event.name, event.input))
      case 'tool-end':
        this.line(toolEndLine(s, event.name, event.result, event.durationMs))
        for (const line of diffLines(s, event.display)) this.line(line)
        return
      case 'permission-decision':
        if (event.behavior === 'deny' && event.source !== 'user')
          this.line(
            paint(
              s,
              'red',
              `  ✗ ${event.name} denied: ${truncate(event.reason, s.columns - 14 - event.name.length)}`,
            ),
          )
        return
      case 'todos':
        for (const line of todoLines(s, event.todos)) this.line(line)
        return
      case 'notification':
        return this.line(paint(s, event.level === 'warn' ? 'yellow' : 'dim', event.message))
      case 'compaction':
        return this.line(
          paint(s, 'dim', `(conversation compacted: ${event.tokensBefore} → ${event.tokensAfter} tokens)`),
        )
      case 'error':
        return this.line(paint(s, 'red', `error ${event.code}: ${event.message}`))
      case 'result': {
        this.total = addUsage(this.total, event.usage)
        if (event.costUsd !== undefined) {
          this.totalCost += event.costUsd
          this.costKnown = true
        }
        const stop =
          event.stopReason === 'aborted'
            ? paint(s, 'yellow', 'interrupted · ')
            : event.isError
              ? paint(s, 'red', `${event.stopReason} · `)
              : ''
        this.line(
          paint(
            s,
            'dim',
            `${stop}${usageLine(event.usage, event.costUsd)} · ${event.turns} turn${event.turns === 1 ? '' : 's'}`,
          ),
        )
        return
      }
      default:
        return
    }
  }
}
