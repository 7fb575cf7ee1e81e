/**
 * The kernel: orders plugins, runs the configure waterfall, validates every config slice before
 * any setup runs, sets plugins up in dependency order, starts them, and stops them in reverse,
 * always, with a timeout per teardown and without letting one failure skip the rest. Its
 * sessions (scopes of session services with their own settings) are in sessions.ts.
 */
import { setMaxListeners } from 'node:events'
import { homedir } from 'node:os'
import { dirname, join, resolve as resolvePath } from 'node:path'
import {
  type ClaimNode,
  checkKernelKeys,
  claimedChildren,
  claimTree,
  findUnknownKeys,
  getPath,
  isPlainObject,
  omitKeys,
} from './config.js'
import { isTauError, messageOf, stampError, TauError } from './errors.js'
import {
  createKernelHooks,
  type HookInfo,
  type HooksRef,
  HookTable,
  type KernelHooks,
  kernelHooksRef,
  type LifecycleContext,
  type RawConfig,
  type StopContext,
  type TapView,
} from './hooks.js'
import {
  createLogger,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
  parseLogLevel,
  secretValuesFrom,
} from './logger.js'
import { orderPlugins } from './order.js'
import { configKeyOf, type KernelPaths, type PluginContext, type TauPlugin, type Teardown } from './plugin.js'
import { type ConfigProblem, validateWith } from './schema.js'
import {
  type Disposer,
  type Resolved,
  type ServiceRef,
  ServiceRegistry,
  type SessionFactory,
} from './services.js'
import { asTeardownError, openSession, type Session, type SessionOptions } from './sessions.js'
import { managedSettingsDirs } from './settings-files.js'

// The names kernel/index.ts and plugin.ts import from here.
export type { Session, SessionOptions } from './sessions.js'

export type KernelState = 'idle' | 'starting' | 'set-up' | 'running' | 'stopping' | 'stopped'

export interface KernelOptions {
  /** Loaded plugins, in registration order; the kernel orders them by dependencies. */
  plugins: readonly TauPlugin[]
  /** The merged config (preset defaults under user config), kernel keys included. */
  config?: RawConfig
  paths?: Partial<KernelPaths>
  /** The arguments of `tau start` meant for the frontend (see PluginContext.argv); default []. */
  argv?: readonly string[]
  /**
   * The environment tau reads (TAU_TRUST, default paths, secrets to mask; PluginContext.env):
   * default process.env. runCli passes the env it is given, so an embedder's decides.
   */
  env?: NodeJS.ProcessEnv
  /** Overrides config.logLevel. */
  logLevel?: LogLevel
  /** Where log records go (default: stderr). */
  logSink?: LogSink
  /** Per-plugin setup time limit in ms (default 10 000). */
  setupTimeout?: number
  /** Per-plugin teardown time limit in ms (default 5 000). */
  teardownTimeout?: number
}

/** What `tau plugins` shows of one plugin. */
export interface PluginReport {
  readonly name: string
  readonly version: string | undefined
  readonly description: string | undefined
  readonly dependsOn: readonly string[]
  readonly configKey: string
  readonly services: readonly string[]
  readonly hooks: readonly HookInfo[]
  readonly taps: readonly string[]
}

interface Entry {
  readonly plugin: TauPlugin
  teardown: Teardown | undefined
}

const DEFAULT_SETUP_TIMEOUT = 10_000
const DEFAULT_TEARDOWN_TIMEOUT = 5_000

/** Resolves the default paths: cwd, project dir from the config file, $TAU_HOME or ~/.tau. */
export function resolvePaths(
  paths: Partial<KernelPaths> = {},
  env: NodeJS.ProcessEnv = process.env,
): KernelPaths {
  const cwd = resolvePath(paths.cwd ?? process.cwd())
  const configFile = paths.configFile
  return {
    cwd,
    configFile,
    projectDir: paths.projectDir ?? (configFile ? dirname(configFile) : cwd),
    tauHome: paths.tauHome ?? env.TAU_HOME ?? join(homedir(), '.tau'),
    claudeHome: paths.claudeHome ?? env.CLAUDE_CONFIG_DIR ?? join(homedir(), '.claude'),
    managedSettings: paths.managedSettings ?? managedSettingsDirs(env),
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
    timer.unref?.()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal)
  return controller
}

export class Kernel {
  readonly paths: KernelPaths
  /** The environment plugins read (KernelOptions.env): process.env unless one was given. */
  readonly env: NodeJS.ProcessEnv
  readonly logger: Logger
  /** The kernel's lifecycle hooks, for embedders; plugins get a tap-only view as ctx.hooks. */
  readonly hooks: KernelHooks
  private readonly options: KernelOptions
  private readonly services = new ServiceRegistry()
  private readonly hookTable = new HookTable()
  /**
   * ctx.signal. Every run, session and connection of every plugin follows it at once (a server
   * with many sessions running), so Node's warning at eleven listeners would name no leak.
   */
  private readonly abort = unlimited(new AbortController())
  private readonly entries: Entry[] = []
  private readonly sessions = new Set<Session>()
  private ordered: TauPlugin[] = []
  private resolvedConfig: RawConfig = {}
  /** The config after the configure waterfall, before validation: what session settings merge over. */
  private configuredConfig: RawConfig = {}
  private claims: ClaimNode | undefined
  private stopping: Promise<void> | undefined
  private stopErrors: TauError[] = []
  private _state: KernelState = 'idle'
  private prepared = false
  private readonly loggerOptions: LoggerOptions
  /** What every logger of this kernel masks (loggerOptions.secrets): grows after configure. */
  private readonly secrets: string[]

  constructor(options: KernelOptions) {
    this.options = options
    this.env = options.env ?? process.env
    this.paths = resolvePaths(options.paths, this.env)
    const configured = parseLogLevel(
      typeof options.config?.logLevel === 'string' ? options.config.logLevel : undefined,
    )
    // The given env's secrets and the process's: a plugin may still read either.
    this.secrets =
      this.env === process.env
        ? secretValuesFrom(process.env)
        : [...new Set([...secretValuesFrom(this.env), ...secretValuesFrom(process.env)])].sort(
            (a, b) => b.length - a.length,
          )
    this.loggerOptions = {
      level: options.logLevel ?? configured ?? 'warn',
      secrets: this.secrets,
      ...(options.logSink ? { sink: options.logSink } : {}),
    }
    this.logger = createLogger('kernel', this.loggerOptions)
    const hooks = createKernelHooks()
    this.hooks = this.hookTable.declare('kernel', kernelHooksRef, hooks)
  }

  get state(): KernelState {
    return this._state
  }

  /** Plugins in setup order (after start() has ordered them). */
  get plugins(): readonly TauPlugin[] {
    return this.ordered
  }

  /** The config after the configure waterfall, with validated plugin slices in place. */
  get config(): Readonly<RawConfig> {
    return this.resolvedConfig
  }

  /**
   * Orders, configures, validates, sets up, starts. On any failure, stops what was set up and
   * rethrows. `{ until: 'setup' }` stops after setup (state 'set-up': services resolve, nothing
   * has started); a later start() continues from there.
   */
  async start(options: { until?: 'setup' | 'ready' } = {}): Promise<void> {
    if (this._state !== 'idle' && this._state !== 'set-up') {
      throw new TauError('TAU_KERNEL_STATE', `start() called on a kernel that is ${this._state}`)
    }
    const resuming = this._state === 'set-up'
    this._state = 'starting'
    try {
      if (!resuming) {
        await this.prepare()
        for (const plugin of this.ordered) await this.setupPlugin(plugin)
      }
      if (options.until === 'setup') {
        this._state = 'set-up'
        return
      }
      const context: LifecycleContext = {
        plugins: this.ordered.map((p) => p.name),
        signal: this.abort.signal,
      }
      await this.runLifecycleHook('start', context)
      await this.runLifecycleHook('ready', context)
      this._state = 'running'
    } catch (error) {
      await this.stop('start-failed').catch((stopError: unknown) => {
        this.logger.error(`while stopping after a failed start: ${messageOf(stopError)}`)
      })
      throw error
    }
  }

  /** Orders, configures and validates without setting anything up. Used by start() and `tau config`. */
  async prepare(): Promise<void> {
    if (this.prepared) return
    this.prepared = true
    this.ordered = orderPlugins(this.options.plugins)
    const owners = new Map<string, string>()
    for (const plugin of this.ordered) {
      const key = configKeyOf(plugin)
      const owner = owners.get(key)
      if (owner !== undefined) {
        throw new TauError(
          'TAU_CONFIG_KEY_CONFLICT',
          `plugins '${owner}' and '${plugin.name}' both read the config key '${key}'`,
          { plugin: plugin.name },
        )
      }
      owners.set(key, plugin.name)
    }
    const names = this.ordered.map((p) => p.name)
    for (const plugin of this.ordered) {
      const configure = plugin.configure
      if (!configure) continue
      const logger = createLogger(plugin.name, this.loggerOptions)
      this.hooks.configure.tapPromise(
        plugin.name,
        async (config) =>
          (await configure(config, {
            logger,
            plugins: names,
            paths: this.paths,
            argv: Object.freeze([...(this.options.argv ?? [])]),
            env: this.env,
          })) ?? config,
      )
    }
    let config: RawConfig
    try {
      config = await this.hooks.configure.promise({ ...(this.options.config ?? {}) })
    } catch (error) {
      throw this.recode(error, 'TAU_CONFIGURE_FAILED')
    }
    // What configure wrote into the env (the settings files' `env`: API keys too) is masked from
    // now on, in every logger made so far and after (they share the array).
    for (const secret of secretValuesFrom(this.env))
      if (!this.secrets.includes(secret)) this.secrets.push(secret)
    this.secrets.sort((a, b) => b.length - a.length)
    const problems: ConfigProblem[] = [...checkKernelKeys(config), ...findUnknownKeys(config, this.ordered)]
    const validated: RawConfig = { ...config }
    const claims = claimTree(this.ordered)
    this.claims = claims
    this.configuredConfig = config
    for (const plugin of this.ordered) {
      if (!plugin.config) continue
      const key = configKeyOf(plugin)
      // Keys under this slice that belong to other plugins are theirs to validate.
      const children = claimedChildren(claims, key)
      const slice = omitKeys(getPath(config, key), children)
      const result = await validateWith(plugin.config, slice ?? {}, key, plugin.name)
      if (!result.ok) {
        problems.push(...result.problems)
        continue
      }
      const current = getPath(validated, key)
      const kept = isPlainObject(current)
        ? Object.fromEntries(children.filter((c) => c in current).map((c) => [c, current[c]]))
        : {}
      setPath(validated, key, isPlainObject(result.value) ? { ...result.value, ...kept } : result.value)
    }
    if (problems.length > 0) throw configError(problems, this.paths.configFile)
    this.resolvedConfig = validated
  }

  private async setupPlugin(plugin: TauPlugin): Promise<void> {
    const entry: Entry = { plugin, teardown: undefined }
    this.entries.push(entry)
    const ctx = this.contextFor(plugin)
    const timeoutMs = this.options.setupTimeout ?? DEFAULT_SETUP_TIMEOUT
    const running = Promise.resolve().then(() => plugin.setup(ctx as PluginContext<never>))
    try {
      const teardown = await withTimeout(
        running,
        timeoutMs,
        () =>
          new TauError(
            'TAU_SETUP_TIMEOUT',
            `plugin '${plugin.name}': setup did not finish within ${timeoutMs} ms`,
            {
              plugin: plugin.name,
            },
          ),
      )
      if (typeof teardown === 'function') entry.teardown = teardown
    } catch (error) {
      if (isTauError(error) && error.code === 'TAU_SETUP_TIMEOUT') {
        // The setup may still finish later; whatever it sets up must still be torn down.
        running.then(
          (late) => {
            if (typeof late === 'function') entry.teardown = late
          },
          () => undefined,
        )
        throw error
      }
      throw stampError(error, 'TAU_SETUP_FAILED', plugin.name)
    }
  }

  private contextFor(plugin: TauPlugin): PluginContext<unknown> {
    const name = plugin.name
    const services = this.services
    const hookTable = this.hookTable
    // Stop taps get one stage, so they stay in setup order (appending is O(1) in tapable);
    // runStop() calls them backwards: later plugins stop first.
    const kernelView = hookTable.view(kernelHooksRef, name, (hook) => (hook === 'stop' ? 0 : undefined))
    const { configure: _configure, ...lifecycle } = kernelView
    const slice = getPath(this.resolvedConfig, configKeyOf(plugin))
    const provide = (ref: ServiceRef<unknown>, value: unknown, dispose?: Disposer<unknown>) => {
      if (ref.scope === 'session') {
        if (typeof value !== 'function') {
          throw new TauError(
            'TAU_SERVICE_SCOPE',
            `service '${ref.id}' is per session: provide a factory (session) => value`,
            {
              plugin: name,
            },
          )
        }
        services.provideSession(
          name,
          ref as ServiceRef<unknown, 'session'>,
          value as SessionFactory<unknown>,
          dispose,
        )
      } else {
        services.provide(name, ref as ServiceRef<unknown, 'root'>, value)
      }
    }
    return Object.freeze({
      name,
      config: slice,
      rootConfig: this.resolvedConfig,
      logger: createLogger(name, this.loggerOptions),
      paths: this.paths,
      argv: Object.freeze([...(this.options.argv ?? [])]),
      env: this.env,
      signal: this.abort.signal,
      hooks: lifecycle as TapView<Omit<KernelHooks, 'configure'>>,
      provide: provide as PluginContext<unknown>['provide'],
      resolve: <R extends ServiceRef<unknown, 'root', boolean>>(ref: R) => {
        try {
          return services.resolveRoot(ref)
        } catch (error) {
          throw stampError(error, 'TAU_SERVICE_MISSING', name)
        }
      },
      tryResolve: <R extends ServiceRef<unknown, 'root', boolean>>(ref: R) => services.tryResolveRoot(ref),
      declareHooks: <H extends object>(ref: HooksRef<H>, hooks: H) => hookTable.declare(name, ref, hooks),
      hooksOf: <H extends object>(ref: HooksRef<H>) => hookTable.view(ref, name),
      createSession: (options?: SessionOptions) => this.createSession(options),
    })
  }

  private async runLifecycleHook(hook: 'start' | 'ready', context: LifecycleContext): Promise<void> {
    try {
      await this.hooks[hook].promise(context)
    } catch (error) {
      throw this.recode(error, 'TAU_START_FAILED')
    }
  }

  /** Turns a stamped hook error into the lifecycle phase's own code, keeping plugin and hook. */
  private recode(error: unknown, code: 'TAU_START_FAILED' | 'TAU_CONFIGURE_FAILED'): TauError {
    if (isTauError(error) && error.code === 'TAU_HOOK_FAILED') {
      const options: ConstructorParameters<typeof TauError>[2] = { cause: error.cause }
      if (error.plugin !== undefined) options.plugin = error.plugin
      if (error.hook !== undefined) options.hook = error.hook
      return new TauError(code, error.message, options)
    }
    return isTauError(error) ? error : new TauError(code, messageOf(error), { cause: error })
  }

  /**
   * Stops the kernel: aborts ctx.signal, disposes open sessions, runs `stop` taps in reverse setup
   * order, then teardowns in reverse setup order, each with a time limit. Every step runs even
   * when an earlier one failed; failures are reported together at the end. Idempotent.
   */
  stop(reason: StopContext['reason'] = 'stop'): Promise<void> {
    if (this._state === 'idle') {
      this._state = 'stopped'
      return Promise.resolve()
    }
    this.stopping ??= this.runStop(reason)
    return this.stopping
  }

  private async runStop(reason: StopContext['reason']): Promise<void> {
    this._state = 'stopping'
    this.abort.abort(new Error(`kernel stopping (${reason})`))
    const limit = this.options.teardownTimeout ?? DEFAULT_TEARDOWN_TIMEOUT
    for (const session of [...this.sessions].reverse()) {
      await session
        .dispose()
        .catch((error: unknown) => this.stopErrors.push(asTeardownError(error, 'session')))
    }
    const context: StopContext = { plugins: this.entries.map((e) => e.plugin.name), reason }
    // Stop taps all have stage 0, so they are in setup order: walk them backwards. Called tap by
    // tap so one failure skips none.
    const stopTaps = this.hooks.stop.taps as unknown as ReadonlyArray<{
      name: string
      type: string
      fn: (...args: unknown[]) => unknown
    }>
    for (const tap of [...stopTaps].reverse()) {
      const call =
        tap.type === 'async'
          ? new Promise<void>((resolve, reject) =>
              tap.fn(context, (error?: unknown) => (error ? reject(error) : resolve())),
            )
          : Promise.resolve().then(() => tap.fn(context))
      await withTimeout(call, limit, () => new Error(`stop tap did not finish within ${limit} ms`)).catch(
        (error: unknown) => this.stopErrors.push(asTeardownError(error, tap.name, 'kernel.stop')),
      )
    }
    for (const entry of [...this.entries].reverse()) {
      const teardown = entry.teardown
      if (!teardown) continue
      await withTimeout(
        Promise.resolve().then(teardown),
        limit,
        () => new Error(`teardown did not finish within ${limit} ms`),
      ).catch((error: unknown) => this.stopErrors.push(asTeardownError(error, entry.plugin.name)))
    }
    this._state = 'stopped'
    if (this.stopErrors.length > 0) {
      const errors = this.stopErrors
      const first = errors[0]!
      throw new TauError(
        'TAU_TEARDOWN_FAILED',
        errors.length === 1 ? first.message : `${errors.length} plugins failed to stop cleanly`,
        {
          ...(first.plugin !== undefined ? { plugin: first.plugin } : {}),
          details: errors.length === 1 ? [] : errors.map((e) => e.message),
          cause: errors.length === 1 ? first.cause : errors,
        },
      )
    }
  }

  private assertRunning(what: string, allowSetUp = true): void {
    if (this._state !== 'running' && !(allowSetUp && this._state === 'set-up')) {
      throw new TauError('TAU_KERNEL_STATE', `${what} needs a started kernel; this one is ${this._state}`)
    }
  }

  resolve<R extends ServiceRef<unknown, 'root', boolean>>(ref: R): Resolved<R> {
    this.assertRunning(`resolve('${ref.id}')`)
    return this.services.resolveRoot(ref)
  }

  tryResolve<R extends ServiceRef<unknown, 'root', boolean>>(ref: R): Resolved<R> | undefined {
    this.assertRunning(`tryResolve('${ref.id}')`)
    return this.services.tryResolveRoot(ref)
  }

  /** Tap-only view of a hook set, for embedders and tests. */
  hooksOf<H extends object>(ref: HooksRef<H>, as = 'embedder'): TapView<H> {
    return this.hookTable.view(ref, as)
  }

  /** Every declared hook, with its kind and the plugins tapping it. */
  listHooks(): HookInfo[] {
    return this.hookTable.list()
  }

  /** A new session scope: session services are created in it on first resolve and disposed with it. */
  createSession(options: SessionOptions = {}): Session {
    this.assertRunning('createSession()', false)
    return openSession(
      {
        services: this.services,
        sessions: this.sessions,
        cwd: this.paths.cwd,
        plugins: this.ordered,
        resolvedConfig: this.resolvedConfig,
        configuredConfig: this.configuredConfig,
        claims: this.claims,
      },
      options,
    )
  }

  /** For `tau plugins`: each plugin in setup order with what it provides, declares and taps. */
  report(): PluginReport[] {
    const services = this.services.byPlugin()
    const hooks = this.hookTable.list()
    return this.ordered.map((plugin) => ({
      name: plugin.name,
      version: plugin.version,
      description: plugin.description,
      dependsOn: [...(plugin.dependsOn ?? []), ...(plugin.optionalDependsOn ?? []).map((d) => `${d}?`)],
      configKey: configKeyOf(plugin),
      services: services.get(plugin.name) ?? [],
      hooks: hooks.filter((h) => h.owner === plugin.name),
      taps: hooks.filter((h) => h.taps.includes(plugin.name)).map((h) => h.name),
    }))
  }
}

function setPath(config: RawConfig, path: string, value: unknown): void {
  const segments = path.split('.')
  let node = config
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment]
    const copy = typeof next === 'object' && next !== null ? { ...(next as RawConfig) } : {}
    node[segment] = copy
    node = copy
  }
  node[segments[segments.length - 1]!] = value
}

function configError(problems: ConfigProblem[], file: string | undefined): TauError {
  const unknownOnly = problems.every((p) => p.message.startsWith('unknown key'))
  const code = unknownOnly ? 'TAU_CONFIG_UNKNOWN_KEY' : 'TAU_CONFIG_INVALID'
  const lines = problems.map((p) => `${p.path}: ${p.message}${p.plugin ? ` (plugin '${p.plugin}')` : ''}`)
  const plugins = [...new Set(problems.map((p) => p.plugin).filter((p): p is string => p !== undefined))]
  const where = file ? ` in ${file}` : ''
  const message =
    problems.length === 1
      ? `invalid config${where}: ${lines[0]}`
      : `invalid config${where}: ${problems.length} problems`
  return new TauError(code, message, {
    ...(plugins.length === 1 ? { plugin: plugins[0] } : {}),
    ...(file ? { file } : {}),
    details: problems.length === 1 ? [] : lines,
  })
}

/** Creates a kernel. Nothing runs until start(). */
export function createKernel(options: KernelOptions): Kernel {
  return new Kernel(options)
}
