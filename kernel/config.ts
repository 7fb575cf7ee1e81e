/**
 * The shape of tau.config.ts, how configs merge, and the kernel's checks of its own keys and of
 * keys nobody reads. Plugin slices are validated by each plugin's own schema (see kernel.ts).
 */
import type { RawConfig } from './hooks.js'
import type { LogLevel } from './logger.js'
import type { PluginEntry, Preset, TauPlugin } from './plugin.js'
import { configKeyOf } from './plugin.js'
import { type ConfigProblem, describeValue } from './schema.js'
import { didYouMean } from './suggest.js'

export interface TauConfig {
  /** A built-in preset name ('minimal', 'coding', ...) or a preset made with definePreset(). */
  preset?: string | Preset
  /** The default model, as a ModelRef: `provider:model`, e.g. `ollama:qwen3:8b`. */
  model?: string
  /** Added to the preset's plugins; one with a preset plugin's name replaces it. */
  plugins?: readonly PluginEntry[]
  /** Names of preset plugins to leave out. */
  disablePlugins?: readonly string[]
  /** Log level for plugin loggers (stderr). Default 'warn'; --debug sets 'debug'. */
  logLevel?: LogLevel
  /** Plugin config slices, each validated by its plugin's schema. */
  [key: string]: unknown
}

/** Identity function that gives tau.config.ts its types. */
export function defineConfig<const C extends TauConfig>(config: C): C {
  return config
}

/** The keys the kernel itself reads. Everything else belongs to a plugin. */
export const KERNEL_CONFIG_KEYS = ['preset', 'model', 'plugins', 'disablePlugins', 'logLevel'] as const

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Deep merge: plain objects merge key by key, everything else (arrays included) is replaced. */
export function mergeConfig(base: RawConfig, override: RawConfig): RawConfig {
  const out: RawConfig = { ...base }
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value
  }
  return out
}

export function getPath(config: RawConfig, path: string): unknown {
  let current: unknown = config
  for (const segment of path.split('.')) {
    if (!isPlainObject(current)) return undefined
    current = current[segment]
  }
  return current
}

/** Validates the kernel's own keys. Returns problems rather than throwing, to report all at once. */
export function checkKernelKeys(config: RawConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const { model, disablePlugins, logLevel } = config
  // Only the type: the ref itself is checked where a session takes it (the providers plugin's
  // checkedRef), which knows the loaded providers and the catalogue, so a bare `gpt-4o` gets
  // "did you mean 'openai:gpt-4o'?" naming the file and field, as --model does.
  if (model !== undefined && typeof model !== 'string') {
    problems.push({
      path: 'model',
      message: `expected a string like 'ollama:qwen3:8b', got ${describeValue(model)}`,
    })
  }
  if (
    disablePlugins !== undefined &&
    (!Array.isArray(disablePlugins) || disablePlugins.some((n) => typeof n !== 'string'))
  ) {
    problems.push({
      path: 'disablePlugins',
      message: `expected an array of plugin names, got ${describeValue(disablePlugins)}`,
    })
  }
  const levels = ['debug', 'info', 'warn', 'error', 'silent']
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !levels.includes(logLevel))) {
    problems.push({
      path: 'logLevel',
      message: `expected one of ${levels.join(', ')}, got ${describeValue(logLevel)}`,
    })
  }
  return problems
}

/**
 * The claimed config paths as a tree. A node may be a plugin's slice, a namespace others claim
 * keys under, or both: `providers` can be the providers plugin's slice while `providers.ollama`
 * is the Ollama plugin's.
 */
export interface ClaimNode {
  slice: boolean
  readonly children: Map<string, ClaimNode>
}

export function claimTree(plugins: readonly TauPlugin[]): ClaimNode {
  const root: ClaimNode = { slice: false, children: new Map() }
  const claim = (path: string) => {
    let node = root
    for (const segment of path.split('.')) {
      let next = node.children.get(segment)
      if (!next) {
        next = { slice: false, children: new Map() }
        node.children.set(segment, next)
      }
      node = next
    }
    node.slice = true
  }
  for (const key of KERNEL_CONFIG_KEYS) claim(key)
  for (const plugin of plugins) claim(configKeyOf(plugin))
  return root
}

/** The keys directly under `path` that other plugins claim (to leave out of that path's slice). */
export function claimedChildren(tree: ClaimNode, path: string): string[] {
  let node: ClaimNode | undefined = tree
  for (const segment of path.split('.')) node = node?.children.get(segment)
  return node ? [...node.children.keys()] : []
}

/**
 * Finds keys that neither the kernel nor any loaded plugin reads. Plugins claim dotted paths
 * (`providers.ollama`), so a namespace such as `providers` is checked one level down too; inside
 * a plugin's own slice, the plugin's schema decides.
 */
export function findUnknownKeys(config: RawConfig, plugins: readonly TauPlugin[]): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const walk = (value: RawConfig, node: ClaimNode, prefix: string) => {
    for (const key of Object.keys(value)) {
      const claim = node.children.get(key)
      const path = prefix === '' ? key : `${prefix}.${key}`
      if (claim === undefined) {
        // Keys inside a plugin's slice are its schema's business.
        if (node.slice) continue
        problems.push({
          path,
          message: `unknown key: no kernel option or loaded plugin reads '${path}'${didYouMean(key, node.children.keys())}`,
        })
      } else if (claim.children.size > 0) {
        const child = value[key]
        if (isPlainObject(child)) walk(child, claim, path)
      }
    }
  }
  walk(config, claimTree(plugins), '')
  return problems
}

/** `value` without the keys `keys` (a plain object; anything else as it is). */
export function omitKeys(value: unknown, keys: readonly string[]): unknown {
  if (!isPlainObject(value) || keys.length === 0) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)))
}
