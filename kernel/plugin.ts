/**
 * The plugin contract: one value made by definePlugin(), the default export of its module.
 */
import type { HooksRef, KernelHooks, RawConfig, TapView } from './hooks.js'
import type { Session, SessionOptions } from './lifecycle.js'
import type { Logger } from './logger.js'
import type { StandardSchemaV1 } from './schema.js'
import { isStandardSchema } from './schema.js'
import type { Disposer, Resolved, ServiceRef, SessionFactory } from './services.js'
import type { ManagedSettingsDir } from './settings-files.js'

const PLUGIN = Symbol.for('tau.plugin')

/** Returned by setup(): undoes what setup did. Runs at stop, in reverse setup order. */
export type Teardown = () => void | Promise<void>

/** Facts about where tau runs, for plugins that touch the filesystem. */
export interface KernelPaths {
  /** The working directory tau was started in (or --cwd). */
  readonly cwd: string
  /** The config file that was loaded, if any. */
  readonly configFile: string | undefined
  /** The project root: the config file's directory, else cwd. Project data lives in `<root>/.tau`. */
  readonly projectDir: string
  /** User-level data: $TAU_HOME, else ~/.tau. */
  readonly tauHome: string
  /** Claude Code's user directory (its settings.json, agents/): $CLAUDE_CONFIG_DIR, else ~/.claude. */
  readonly claudeHome: string
  /**
   * The administrator's policy directories (managed settings, managed-mcp.json): /etc/tau and
   * /etc/claude-code on Linux, or under $TAU_MANAGED_SETTINGS_DIR (settings-files.ts).
   */
  readonly managedSettings: readonly ManagedSettingsDir[]
}

export interface PluginContext<C> {
  /** The plugin's name; it is also the name of every tap it makes. */
  readonly name: string
  /** The plugin's validated config slice, defaults applied. */
  readonly config: C
  /** The whole resolved config, read-only, for the few plugins that need another's view. */
  readonly rootConfig: Readonly<RawConfig>
  readonly logger: Logger
  readonly paths: KernelPaths
  /**
   * The arguments `tau start` passes to the frontend ([] for other commands and embedders). The
   * few flags that must act before the frontend runs (`--settings`, `--mcp-config`, `--trust`)
   * are read from here, leniently, by the plugins they belong to.
   */
  readonly argv: readonly string[]
  /**
   * The environment tau runs with: the one given to runCli (or KernelOptions.env), else
   * process.env. Read what the user sets for tau (TAU_TRUST, ...) here, not from process.env.
   */
  readonly env: NodeJS.ProcessEnv
  /** Aborted when the kernel begins to stop. */
  readonly signal: AbortSignal
  /** Tap-only view of the kernel lifecycle hooks (start, ready, stop). */
  readonly hooks: TapView<Omit<KernelHooks, 'configure'>>
  /** Provides a root service. */
  provide<T>(ref: ServiceRef<T, 'root', boolean>, value: T): void
  /** Provides a per-session service: `factory` runs once in each session that resolves it. */
  provide<T>(ref: ServiceRef<T, 'session', false>, factory: SessionFactory<T>, dispose?: Disposer<T>): void
  /** Resolves a root service provided by this plugin or one set up before it (list it in dependsOn). */
  resolve<R extends ServiceRef<unknown, 'root', boolean>>(ref: R): Resolved<R>
  /** Like resolve(), but undefined (or [] for a multiple ref) when nobody provides it. */
  tryResolve<R extends ServiceRef<unknown, 'root', boolean>>(ref: R): Resolved<R> | undefined
  /** Declares a hook set for other plugins to tap. Returns the frozen hooks, for this plugin to call. */
  declareHooks<H extends object>(ref: HooksRef<H>, hooks: H): H
  /** Tap-only view of a hook set declared by a plugin this one depends on. */
  hooksOf<H extends object>(ref: HooksRef<H>): TapView<H>
  /**
   * Opens a session scope (once the kernel runs): session services are created in it on first
   * resolve and disposed with it, or when the kernel stops. For plugins that run sessions.
   */
  createSession(options?: SessionOptions): Session
}

export interface ConfigureApi {
  readonly logger: Logger
  readonly plugins: readonly string[]
  /** The kernel's paths (project directory, tau home, config file). */
  readonly paths: KernelPaths
  /** The arguments of `tau start` meant for the frontend, as PluginContext.argv. */
  readonly argv: readonly string[]
  /** The kernel's environment, as PluginContext.env. */
  readonly env: NodeJS.ProcessEnv
}

export interface PluginDefinition<S extends StandardSchemaV1 | undefined = undefined> {
  /** kebab-case; equals the folder or package it comes from. */
  name: string
  version?: string
  description?: string
  /** Plugins that must be present and set up before this one. */
  dependsOn?: readonly string[]
  /** Plugins set up before this one when present; no error when absent. */
  optionalDependsOn?: readonly string[]
  /**
   * Where the plugin's slice lives in the config, a dotted path (default: the plugin name).
   * Provider plugins use `providers.<name>`, for instance.
   */
  configKey?: string
  /** Validates the slice; defaults live here. A zod schema, or any Standard Schema. */
  config?: S
  /**
   * Runs before validation, in setup order, as a tap of the kernel's `configure` waterfall:
   * may return a changed copy of the whole config (to fill another plugin's defaults, say).
   */
  // Both are declared as methods so a plugin with a specific config type is still a TauPlugin
  // (method parameters are checked bivariantly); the kernel only ever passes the matching slice.
  configure?(config: RawConfig, api: ConfigureApi): RawConfig | undefined | Promise<RawConfig | undefined>
  setup(
    ctx: PluginContext<S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : undefined>,
  ): void | Teardown | Promise<void | Teardown>
}

/** A plugin: a frozen, branded definition. */
export type TauPlugin<S extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> = Readonly<
  PluginDefinition<S>
> & {
  readonly [PLUGIN]: true
}

const PLUGIN_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

/** Makes a plugin. Throws at once on a malformed definition, naming the field. */
export function definePlugin<S extends StandardSchemaV1 | undefined = undefined>(
  definition: PluginDefinition<S>,
): TauPlugin<S> {
  const where = `definePlugin(${typeof definition?.name === 'string' ? `'${definition.name}'` : '...'})`
  if (typeof definition !== 'object' || definition === null) {
    throw new TypeError('definePlugin() expects an object { name, setup, ... }')
  }
  if (typeof definition.name !== 'string' || !PLUGIN_NAME.test(definition.name)) {
    throw new TypeError(
      `${where}: name must be kebab-case (lowercase letters, digits, hyphens), e.g. 'my-plugin'`,
    )
  }
  if (typeof definition.setup !== 'function') throw new TypeError(`${where}: setup must be a function`)
  if (definition.config !== undefined && !isStandardSchema(definition.config)) {
    throw new TypeError(`${where}: config must be a zod schema (or another Standard Schema)`)
  }
  for (const field of ['dependsOn', 'optionalDependsOn'] as const) {
    const list = definition[field]
    if (list !== undefined && (!Array.isArray(list) || list.some((d) => typeof d !== 'string'))) {
      throw new TypeError(`${where}: ${field} must be an array of plugin names`)
    }
  }
  if (
    definition.configKey !== undefined &&
    !/^[A-Za-z][\w-]*(\.[A-Za-z][\w-]*)*$/.test(definition.configKey)
  ) {
    throw new TypeError(`${where}: configKey must be a dotted path such as 'providers.ollama'`)
  }
  return Object.freeze({ ...definition, [PLUGIN]: true as const })
}

export function isPlugin(value: unknown): value is TauPlugin {
  return typeof value === 'object' && value !== null && PLUGIN in value
}

/** Where a plugin's slice lives in the config. */
export function configKeyOf(plugin: TauPlugin): string {
  return plugin.configKey ?? plugin.name
}

/**
 * An entry of a `plugins` list: a plugin, a module path or package name (optionally with options
 * for a factory export), or a nested list. Falsy entries are skipped, so
 * `[isCI && ciPlugin]` works.
 */
export type PluginEntry =
  | TauPlugin
  | string
  | readonly [string, unknown]
  | readonly PluginEntry[]
  | false
  | null
  | undefined

const PRESET = Symbol.for('tau.preset')

export interface PresetDefinition {
  name: string
  description?: string
  /** A preset to start from: its plugins come first, its config is the base. */
  extends?: string | Preset
  plugins?: readonly PluginEntry[]
  /** Default config, deep-merged under the user's config. */
  config?: RawConfig
}

export type Preset = Readonly<PresetDefinition> & { readonly [PRESET]: true }

export function definePreset(definition: PresetDefinition): Preset {
  if (typeof definition?.name !== 'string' || definition.name === '') {
    throw new TypeError('definePreset() needs a name')
  }
  return Object.freeze({ ...definition, [PRESET]: true as const })
}

export function isPreset(value: unknown): value is Preset {
  return typeof value === 'object' && value !== null && PRESET in value
}
