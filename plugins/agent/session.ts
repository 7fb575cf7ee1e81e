/**
 * An agent session: a conversation that lives across runs, the session's environment,
 * permissions and tool state, and run(), which plays the loop and yields its events.
 */
import { randomUUID } from 'node:crypto'
import { resolve as resolvePath } from 'node:path'
import {
  Conversation,
  type Logger,
  type Message,
  type ModelCapabilities,
  type ModelRef,
  type Session,
  TauError,
  type ToolDefinition,
} from '../../kernel/index.js'
import { type Permissions, permissionsRef } from '../permissions/index.js'
import type { ProviderRegistry } from '../providers/index.js'
import { type Environment, EnvironmentError, environmentRef } from '../sandbox/index.js'
import type { ToolRegistry, ToolState } from '../tools/index.js'
import { type SessionTools, sessionToolsRef, TODOS_KEY } from '../tools/index.js'
import type { AgentConfig } from './config.js'
import { AGENT_ERRORS, messageOf } from './errors.js'
import { EventChannel } from './event-channel.js'
import type { AgentEvent, Todo } from './events.js'
import type { AgentHooks } from './hooks.js'
import { interactionOf, type SessionInteraction, sessionInteraction } from './interaction.js'
import type { InterruptedRun, LogEntry } from './log.js'
import { type EventBody, Run, type RunHost } from './run.js'
import type {
  AgentSession,
  AgentSessionOptions,
  AskPermission,
  RunOptions,
  SessionParent,
} from './runtime.js'
import { BASE_INSTRUCTIONS, environmentSection, type GitFacts, gitFacts } from './system-prompt.js'

/** Opens a kernel session scope (the kernel's createSession). */
export type ScopeOpener = (options: {
  id?: string
  cwd?: string
  settings?: Readonly<Record<string, unknown>>
}) => Session

export interface SessionDeps {
  readonly config: AgentConfig
  readonly hooks: AgentHooks
  readonly providers: ProviderRegistry
  readonly tools: ToolRegistry
  readonly logger: Logger
  /** Aborted when the kernel stops. */
  readonly kernelSignal: AbortSignal
  readonly defaultCwd: string
  /** The model when neither the options nor `agent.model` name one: the config's `model`. */
  readonly defaultModel: string | undefined
  /** The config file the models in config came from, for error messages. */
  readonly configFile: string | undefined
  readonly openScope: ScopeOpener | undefined
  readonly createToolState: () => ToolState
  /** Changes whenever a tool is added or removed. */
  readonly toolsVersion: () => number
  readonly onClose: (session: AgentSessionImpl) => void
}

const BARE_TOOL = /^[A-Za-z][A-Za-z0-9_-]*$/

export class AgentSessionImpl implements AgentSession, RunHost {
  readonly id: string
  readonly cwd: string
  readonly parent: SessionParent | undefined
  readonly streamEvents: boolean
  readonly settings: Readonly<Record<string, unknown>> | undefined
  readonly modelText: string
  readonly modelRef: ModelRef
  conversation: Conversation
  readonly permissions: Permissions | undefined
  readonly environment: Environment
  readonly toolState: ToolState
  readonly askPermission: AskPermission | undefined
  readonly interaction: SessionInteraction
  readonly allowedNames: ReadonlySet<string>
  readonly hiddenTools: ReadonlySet<string>
  readonly hooks: AgentHooks
  readonly tools: ToolRegistry
  readonly providers: ProviderRegistry
  readonly config: AgentConfig
  readonly logger: Logger
  readonly kernelSignal: AbortSignal
  readonly parallelReadOnly: boolean
  readonly maxParallelTools: number
  private readonly scope: Session | undefined
  private readonly ownsScope: boolean
  private caps: Promise<ModelCapabilities | undefined> | undefined
  private asking: Promise<unknown> = Promise.resolve()
  private system: Promise<string> | undefined
  private definitions: { version: number; list: ToolDefinition[] } | undefined
  /** The session's own tools (its MCP servers) over the global registry, when it has any. */
  private readonly ownTools: SessionTools | undefined
  /** With own tools: counts changes of the overlay (global and own), in place of deps.toolsVersion. */
  private ownToolsVersion = 0
  private readonly stopWatchingTools: (() => void) | undefined
  private readonly toolLoggers = new Map<string, Logger>()
  private started = false
  /** The last position used in the session's sequence (a resumed session goes on after its log's). */
  private seq: number
  /** An interrupted run of the log this session was resumed from: `continue()` goes on with it. */
  private interrupted: InterruptedRun | undefined
  /** What the log says of mode, model and session rules, so logState() writes only changes. */
  private logged: { mode: string | undefined; model: string; rules: number }
  private current: { run: Run; done: Promise<void> } | undefined
  private closing: Promise<void> | undefined
  private readonly gitFactsOf: (cwd: string, timeoutMs: number) => Promise<GitFacts>

  constructor(
    private readonly deps: SessionDeps,
    options: AgentSessionOptions,
  ) {
    const model = options.model ?? deps.config.model ?? deps.defaultModel
    if (model === undefined || model === '') {
      throw new TauError(AGENT_ERRORS.TAU_AGENT_NO_MODEL, 'no model is configured for the agent', {
        plugin: 'agent',
      })
    }
    // A malformed ref, or one whose provider is not loaded, is reported now (saying where it
    // came from), not as a failed model call.
    const where =
      options.model !== undefined
        ? "the session's model (--model)"
        : deps.config.model !== undefined
          ? `config \`agent.model\`${deps.configFile === undefined ? '' : ` in ${deps.configFile}`}`
          : `config \`model\`${deps.configFile === undefined ? '' : ` in ${deps.configFile}`}`
    this.modelRef = deps.providers.checkedRef(model, where)
    this.modelText = model
    this.id = options.id ?? options.scope?.id ?? randomUUID()
    this.cwd = resolvePath(options.cwd ?? options.scope?.cwd ?? deps.defaultCwd)
    this.parent = options.parent
    this.streamEvents = options.streamEvents === true
    this.settings = options.scope === undefined ? options.settings : undefined
    this.config = deps.config
    this.hooks = deps.hooks
    this.tools = deps.tools
    this.providers = deps.providers
    this.logger = deps.logger.child(this.id.slice(0, 8))
    this.kernelSignal = deps.kernelSignal
    this.parallelReadOnly = deps.config.parallelReadOnly
    this.maxParallelTools = deps.config.maxParallelTools
    this.conversation = options.conversation ?? Conversation.of()
    // The frontend's interaction (the askPermission option is its older, narrower form). The loop
    // queues its own permission asks, so it gets the frontend's askPermission unqueued.
    const frontend = interactionOf(options)
    this.askPermission = frontend?.askPermission?.bind(frontend)
    this.interaction = sessionInteraction(frontend, (ask) => this.queueAsk(ask))
    this.scope =
      options.scope ??
      deps.openScope?.({
        id: this.id,
        cwd: this.cwd,
        ...(options.settings ? { settings: options.settings } : {}),
      })
    this.ownsScope = options.scope === undefined && this.scope !== undefined
    this.permissions = this.scope?.tryResolve(permissionsRef)
    this.ownTools = this.scope?.tryResolve(sessionToolsRef)
    if (this.ownTools) {
      this.tools = this.ownTools.registry
      this.stopWatchingTools = this.tools.onChange(() => {
        this.ownToolsVersion++
      })
    }
    const environment = this.scope?.tryResolve(environmentRef) ?? missingEnvironment(this.cwd)
    this.environment = options.wrapEnvironment ? options.wrapEnvironment(environment) : environment
    this.toolState = deps.createToolState()
    if (options.todos !== undefined)
      this.toolState.set(
        TODOS_KEY,
        options.todos.map((todo) => ({ ...todo })),
      )
    if (options.systemPrompt !== undefined) this.system = Promise.resolve(options.systemPrompt)
    this.gitFactsOf = options.gitFacts ?? gitFacts
    const allowed = options.allowedTools ?? []
    const disallowed = options.disallowedTools ?? []
    this.allowedNames = new Set(allowed.filter((rule) => BARE_TOOL.test(rule)))
    this.hiddenTools = new Set(disallowed.filter((rule) => BARE_TOOL.test(rule)))
    this.seq = options.lastSeq ?? -1
    this.interrupted = options.interrupted
    this.logged = { mode: options.loggedMode, model: options.loggedModel ?? model, rules: 0 }
    this.applyPermissions(options, allowed, disallowed)
    this.logged.rules = this.sessionRuleCount()
  }

  nextSeq(): number {
    return ++this.seq
  }

  /** Rules granted in this session (scope `session`), newest first. */
  private sessionRules() {
    return (this.permissions?.rules() ?? []).filter((rule) => rule.source.scope === 'session')
  }

  private sessionRuleCount(): number {
    return this.permissions ? this.sessionRules().length : 0
  }

  record(runId: string, entries: readonly LogEntry[]): Promise<void> {
    return this.hooks.record.promise({ sessionId: this.id, runId, entries })
  }

  async logState(runId: string): Promise<void> {
    const entries: LogEntry[] = []
    const mode = this.permissions?.mode
    if (mode !== undefined && mode !== this.logged.mode) {
      this.logged.mode = mode
      entries.push({ type: 'mode', mode })
    }
    if (this.modelText !== this.logged.model) {
      this.logged.model = this.modelText
      entries.push({ type: 'model', model: this.modelText })
    }
    if (this.permissions) {
      const rules = this.sessionRules()
      // Newest first: the ones not logged yet are at the front.
      for (const rule of rules.slice(0, Math.max(0, rules.length - this.logged.rules)).reverse())
        entries.push({ type: 'rule', rule: rule.text, behavior: rule.behavior })
      this.logged.rules = rules.length
    }
    if (entries.length > 0) await this.record(runId, entries)
  }

  /** Mode and command-line rules go to the session's permissions (a bad rule throws here). */
  private applyPermissions(
    options: AgentSessionOptions,
    allowed: readonly string[],
    disallowed: readonly string[],
  ): void {
    const permissions = this.permissions
    if (!permissions) {
      if (options.permissionMode !== undefined && options.permissionMode !== 'default') {
        this.logger.warn(
          `permission mode '${options.permissionMode}' has no effect: no permissions service is loaded`,
        )
      }
      return
    }
    if (options.permissionMode !== undefined) permissions.setMode(options.permissionMode)
    for (const granted of options.sessionRules ?? []) {
      // Session-scoped (not persisted): without `persist` the rule is in force when this returns.
      permissions
        .addRule(granted.rule, granted.behavior)
        .catch((error: unknown) =>
          this.logger.warn(`the logged rule '${granted.rule}' was not restored: ${messageOf(error)}`),
        )
    }
    if (allowed.length > 0 || disallowed.length > 0)
      permissions.setCliRules({ allow: allowed, deny: disallowed })
  }

  get sessionId(): string {
    return this.id
  }

  get model(): string {
    return this.modelText
  }

  get running(): boolean {
    return this.current !== undefined
  }

  get todos(): readonly Todo[] {
    return this.toolState.get<Todo[]>(TODOS_KEY) ?? []
  }

  /** Appends to the conversation and waits for the messageAppended taps (transcripts). */
  async append(message: Message): Promise<void> {
    this.conversation = this.conversation.append(message)
    await this.hooks.messageAppended.promise({
      sessionId: this.id,
      message,
      index: this.conversation.length - 1,
    })
  }

  replaceConversation(conversation: Conversation): void {
    this.conversation = conversation
  }

  async compactInstructions(
    trigger: 'auto' | 'manual',
    instructions: readonly string[] = [],
  ): Promise<readonly string[]> {
    const context = await this.hooks.preCompact.promise({ sessionId: this.id, trigger, instructions })
    return context.instructions
  }

  capabilities(): Promise<ModelCapabilities | undefined> {
    this.caps ??= this.providers.capabilities(this.modelText).catch((error: unknown) => {
      this.logger.debug(`no capabilities for ${this.modelText}: ${messageOf(error)}`)
      return undefined
    })
    return this.caps
  }

  async vision(): Promise<boolean> {
    return (await this.capabilities())?.vision ?? false
  }

  queueAsk<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.asking.then(fn, fn)
    this.asking = next.catch(() => undefined)
    return next
  }

  /**
   * Built once per session, at its first run: environment facts are a snapshot of the start,
   * and a prompt that stays the same lets the provider's prompt cache hit on every call.
   */
  systemPrompt(): Promise<string> {
    if (!this.system) {
      const building = this.buildSystemPrompt()
      this.system = building
      // A failed build (a hook threw) is tried again by the next run.
      building.catch(() => {
        if (this.system === building) this.system = undefined
      })
    }
    return this.system
  }

  private async buildSystemPrompt(): Promise<string> {
    const git = await this.gitFactsOf(this.cwd, this.config.gitTimeoutMs)
    const sections = [
      { id: 'base', text: BASE_INSTRUCTIONS },
      {
        id: 'environment',
        text: environmentSection({
          cwd: this.cwd,
          platform: `${process.platform} (${process.arch})`,
          date: new Date(),
          model: this.modelText,
          git,
        }),
      },
      ...(this.config.systemPrompt ? [{ id: 'config', text: this.config.systemPrompt }] : []),
    ]
    const prompt = await this.hooks.systemPrompt.promise({ sessionId: this.id, cwd: this.cwd, sections })
    return prompt.sections
      .map((section) => section.text)
      .filter((text) => text !== '')
      .join('\n\n')
  }

  toolDefinitions(): ToolDefinition[] {
    const version = this.ownTools ? this.ownToolsVersion : this.deps.toolsVersion()
    if (this.definitions?.version !== version) {
      const names = this.tools
        .list()
        .map((tool) => tool.name)
        .filter((name) => !this.hiddenTools.has(name))
      this.definitions = { version, list: this.tools.definitions(names) }
    }
    return this.definitions.list
  }

  toolLogger(name: string): Logger {
    let logger = this.toolLoggers.get(name)
    if (!logger) {
      logger = this.logger.child(name)
      this.toolLoggers.set(name, logger)
    }
    return logger
  }

  async begin(emit: (event: EventBody) => void): Promise<void> {
    if (this.started) return
    this.started = true
    // The session's own MCP servers connect from its creation on; the first turn sees their tools.
    await this.ownTools?.ready()
    await this.hooks.sessionStart.promise({
      sessionId: this.id,
      cwd: this.cwd,
      model: this.modelText,
      source: this.conversation.length > 0 ? 'resume' : 'startup',
    })
    emit({
      type: 'session-start',
      model: this.modelText,
      cwd: this.cwd,
      tools: this.toolDefinitions().map((tool) => tool.name),
      permissionMode: this.permissions?.mode ?? 'default',
    })
  }

  run(prompt: string, options: RunOptions = {}): AsyncIterable<AgentEvent> {
    // A new prompt leaves an interrupted run of the log behind.
    this.interrupted = undefined
    return this.start(prompt, options)
  }

  continue(options: RunOptions = {}): AsyncIterable<AgentEvent> {
    const last = this.conversation.messages.at(-1)
    if (last === undefined || (last.role !== 'user' && last.role !== 'tool')) {
      throw new TauError(
        AGENT_ERRORS.TAU_AGENT_NOTHING_TO_CONTINUE,
        last === undefined
          ? `session ${this.id} has no conversation to continue`
          : `session ${this.id} ended with the model's answer: there is no interrupted run to continue`,
        { plugin: 'agent' },
      )
    }
    const resumes = this.interrupted
    this.interrupted = undefined
    return this.start(undefined, options, resumes)
  }

  private start(
    prompt: string | undefined,
    options: RunOptions,
    resumes?: InterruptedRun,
  ): AsyncIterable<AgentEvent> {
    if (this.closing) {
      throw new TauError(AGENT_ERRORS.TAU_AGENT_CLOSED, `session ${this.id} is closed`, { plugin: 'agent' })
    }
    if (this.current) {
      throw new TauError(AGENT_ERRORS.TAU_AGENT_BUSY, `session ${this.id} is already running`, {
        plugin: 'agent',
      })
    }
    const channel = new EventChannel<AgentEvent>()
    const run = new Run(this, prompt, options, channel, resumes)
    const done = run.execute().finally(() => {
      channel.end()
      if (this.current?.run === run) this.current = undefined
    })
    this.current = { run, done }
    return iterate(channel, run, done)
  }

  async notify(level: 'info' | 'warn', message: string): Promise<void> {
    const run = this.current?.run
    if (run && !run.finished) {
      await run.notify(level, message)
      return
    }
    await this.hooks.notification
      .promise({ sessionId: this.id, level, message })
      .catch((error: unknown) => this.logger.warn(`a notification hook failed: ${messageOf(error)}`))
  }

  /** Aborts the current run, if any, and waits for it to end. */
  async abort(): Promise<void> {
    const current = this.current
    if (!current) return
    current.run.abort()
    await current.done
  }

  close(reason = 'close'): Promise<void> {
    this.closing ??= (async () => {
      await this.abort()
      this.deps.onClose(this)
      try {
        if (this.started) await this.hooks.sessionEnd.promise({ sessionId: this.id, reason })
      } catch (error) {
        this.logger.warn(`a sessionEnd hook failed: ${messageOf(error)}`)
      } finally {
        this.stopWatchingTools?.()
        if (this.ownsScope) await this.scope?.dispose()
      }
    })()
    return this.closing
  }
}

/** The run's events; leaving the loop early aborts the run and waits for it to end cleanly. */
async function* iterate(channel: EventChannel<AgentEvent>, run: Run, done: Promise<void>) {
  try {
    yield* channel
  } finally {
    if (!run.finished) run.abort()
    await done
  }
}

/** Stands in when no sandbox plugin provides an environment: every file or process access fails clearly. */
function missingEnvironment(cwd: string): Environment {
  const fail = (path: string) =>
    Promise.reject(
      new EnvironmentError(
        'io',
        path,
        'no environment: add the sandbox plugin to run tools that touch files',
      ),
    )
  return {
    kind: 'local',
    capabilities: { filesystemIsolation: false, network: 'host', pty: false, filesOnHost: false },
    roots: [cwd],
    cwd,
    resolvePath: fail,
    contains: async () => false,
    stat: fail,
    readFile: fail,
    writeFile: (path) => fail(path),
    readdir: fail,
    mkdir: fail,
    remove: fail,
    exec: () => fail(cwd),
    spawn: () => {
      throw new EnvironmentError(
        'io',
        cwd,
        'no environment: add the sandbox plugin to run tools that run commands',
      )
    },
    processEnv: () => ({}),
    dispose: async () => {},
  }
}
