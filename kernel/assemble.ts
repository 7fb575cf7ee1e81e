/**
 * From a user config to the list of plugins and the merged config a kernel starts with:
 * resolve the preset chain, load plugin entries (objects, paths, package names), apply
 * replacements and `disablePlugins`, merge preset defaults under the user's config.
 */
import { existsSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve as resolvePath } from 'node:path'
import { isPlainObject, mergeConfig, type TauConfig } from './config.js'
import { messageOf, TauError } from './errors.js'
import type { RawConfig } from './hooks.js'
import { defaultExport, importModule, resolvePackage } from './module-loader.js'
import { isPlugin, isPreset, type PluginEntry, type Preset, type TauPlugin } from './plugin.js'
import { didYouMean } from './suggest.js'

/** Built-in presets by name, loaded on demand so an unused preset costs nothing. */
export type PresetCatalog = Readonly<Record<string, () => Promise<Preset>>>

export interface AssembleOptions {
  /** The user's config (already loaded from a file, or given in code). */
  config: TauConfig
  /** The file the config came from; relative plugin paths resolve from its directory. */
  configFile?: string | undefined
  /** Directory relative plugin paths resolve from when there is no config file. */
  cwd: string
  tauHome: string
  presets: PresetCatalog
  /** --preset on the command line; wins over config.preset. */
  preset?: string | undefined
  /** The preset used when neither the command line nor the config names one. */
  defaultPreset?: string
}

export interface Assembly {
  /** The preset chain, base first. */
  readonly presets: readonly string[]
  readonly plugins: readonly TauPlugin[]
  /** Preset defaults merged under the user's config; kernel keys other than model/logLevel removed. */
  readonly config: RawConfig
}

interface Sourced {
  readonly plugin: TauPlugin
  /** Where the entry came from, for error messages: `preset 'coding'` or `config`. */
  readonly source: string
}

async function resolvePreset(
  name: string | Preset,
  catalog: PresetCatalog,
  seen: string[],
  /** The config file that named the preset, for the error message. */
  file?: string,
): Promise<Preset[]> {
  let preset: Preset
  if (isPreset(name)) preset = name
  else {
    const load = Object.hasOwn(catalog, name) ? catalog[name] : undefined
    if (!load) {
      const names = Object.keys(catalog)
      const where = file ? ` (named in ${file})` : ''
      throw new TauError('TAU_PRESET_UNKNOWN', `unknown preset '${name}'${where}${didYouMean(name, names)}`, {
        details: [`available presets: ${names.join(', ')}`],
        ...(file ? { file } : {}),
      })
    }
    preset = await load()
  }
  if (seen.includes(preset.name)) {
    throw new TauError(
      'TAU_PRESET_CYCLE',
      `presets extend each other in a cycle: ${[...seen, preset.name].join(' -> ')}`,
    )
  }
  const base =
    preset.extends === undefined ? [] : await resolvePreset(preset.extends, catalog, [...seen, preset.name])
  return [...base, preset]
}

function flatten(
  entries: readonly PluginEntry[] | undefined,
): Array<TauPlugin | string | readonly [string, unknown]> {
  const out: Array<TauPlugin | string | readonly [string, unknown]> = []
  for (const entry of entries ?? []) {
    if (entry === false || entry === null || entry === undefined) continue
    if (
      Array.isArray(entry) &&
      !(entry.length === 2 && typeof entry[0] === 'string' && !isPlugin(entry[1]))
    ) {
      out.push(...flatten(entry as readonly PluginEntry[]))
    } else out.push(entry as TauPlugin | string | readonly [string, unknown])
  }
  return out
}

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs', '.cts']

function probeFile(base: string): string | undefined {
  const isFile = (path: string) => existsSync(path) && statSync(path).isFile()
  if (isFile(base)) return base
  for (const ext of EXTENSIONS) if (isFile(base + ext)) return base + ext
  for (const ext of EXTENSIONS) if (isFile(join(base, `index${ext}`))) return join(base, `index${ext}`)
  return undefined
}

const PATH_LIKE = /^(\.{1,2}[\\/]|\/|[A-Za-z]:[\\/])/

/** Loads one `plugins` entry given as a path or package name, optionally with factory options. */
export async function loadPluginModule(
  spec: string,
  options: unknown,
  baseDir: string,
  tauHome: string,
  /** Where the entry is listed (a config file path, or `preset 'x'`), for error messages. */
  listedIn?: string,
): Promise<TauPlugin> {
  let file: string | undefined
  const listed = listedIn ? ` listed in ${listedIn}` : ''
  if (PATH_LIKE.test(spec)) {
    file = isAbsolute(spec) ? spec : resolvePath(baseDir, spec)
    // Allow './my-plugin' for './my-plugin.ts' and folders with an index.
    file = probeFile(file)
  }
  const candidates =
    spec.startsWith('tau-plugin-') || spec.startsWith('@') ? [spec] : [`tau-plugin-${spec}`, spec]
  if (!PATH_LIKE.test(spec)) {
    for (const candidate of candidates) {
      file = await resolvePackage(candidate, baseDir, tauHome)
      if (file) break
    }
  }
  if (!file) {
    const tried = PATH_LIKE.test(spec)
      ? `looked for ${resolvePath(baseDir, spec)}`
      : `looked for the package${candidates.length > 1 ? 's' : ''} ${candidates.map((c) => `'${c}'`).join(' and ')} from ${baseDir}`
    throw new TauError('TAU_PLUGIN_NOT_FOUND', `cannot find plugin '${spec}'${listed} (${tried})`, {
      ...(listedIn && isAbsolute(listedIn) ? { file: listedIn } : {}),
    })
  }
  let namespace: unknown
  try {
    namespace = await importModule(file, tauHome)
  } catch (error) {
    throw new TauError(
      'TAU_PLUGIN_INVALID',
      `plugin module '${spec}'${listed} failed to load: ${messageOf(error)}`,
      {
        file,
        cause: error,
        hint: 'Fix the error in the module; run with --debug to see the stack.',
      },
    )
  }
  let value = defaultExport(namespace)
  if (typeof value === 'function' && !isPlugin(value)) {
    try {
      value = await (value as (options: unknown) => unknown)(options)
    } catch (error) {
      throw new TauError('TAU_PLUGIN_INVALID', `plugin factory '${spec}' threw: ${messageOf(error)}`, {
        file,
        cause: error,
      })
    }
  } else if (options !== undefined) {
    throw new TauError(
      'TAU_PLUGIN_INVALID',
      `plugin '${spec}' takes no options: its module exports a plugin, not a factory`,
      {
        file,
        hint: "Put the plugin's settings in its config slice instead of the [name, options] form.",
      },
    )
  }
  if (!isPlugin(value)) {
    throw new TauError(
      'TAU_PLUGIN_INVALID',
      `module '${spec}' does not export a plugin made with definePlugin()`,
      { file },
    )
  }
  return value
}

async function loadEntries(
  entries: readonly PluginEntry[] | undefined,
  source: string,
  baseDir: string,
  tauHome: string,
): Promise<Sourced[]> {
  const loaded: Sourced[] = []
  for (const entry of flatten(entries)) {
    if (isPlugin(entry)) loaded.push({ plugin: entry, source })
    else if (typeof entry === 'string')
      loaded.push({ plugin: await loadPluginModule(entry, undefined, baseDir, tauHome, source), source })
    else if (Array.isArray(entry) && typeof entry[0] === 'string') {
      loaded.push({ plugin: await loadPluginModule(entry[0], entry[1], baseDir, tauHome, source), source })
    } else {
      throw new TauError(
        'TAU_PLUGIN_INVALID',
        `${source}: a plugins entry is ${describe(entry)}, not a plugin, a module path or a package name`,
      )
    }
  }
  // Two plugins of one name in the same list is a mistake, not a replacement.
  const seen = new Map<string, Sourced>()
  for (const item of loaded) {
    const twin = seen.get(item.plugin.name)
    if (twin) {
      throw new TauError('TAU_PLUGIN_DUPLICATE', `two plugins are named '${item.plugin.name}' in ${source}`, {
        plugin: item.plugin.name,
      })
    }
    seen.set(item.plugin.name, item)
  }
  return loaded
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** Later lists replace earlier entries of the same name in place; new names are appended. */
function overlay(base: Sourced[], next: Sourced[]): Sourced[] {
  const out = [...base]
  for (const item of next) {
    const at = out.findIndex((existing) => existing.plugin.name === item.plugin.name)
    if (at >= 0) out[at] = item
    else out.push(item)
  }
  return out
}

export async function assemble(options: AssembleOptions): Promise<Assembly> {
  const { config } = options
  if (!isPlainObject(config)) {
    throw new TauError('TAU_CONFIG_SHAPE', `the config is ${describe(config)}, not an object`, {
      ...(options.configFile ? { file: options.configFile } : {}),
    })
  }
  const presetName = options.preset ?? config.preset ?? options.defaultPreset ?? 'minimal'
  if (typeof presetName !== 'string' && !isPreset(presetName)) {
    throw new TauError(
      'TAU_CONFIG_INVALID',
      `preset: expected a preset name or a definePreset() value, got ${describe(presetName)}`,
    )
  }
  const namedInConfig = options.preset === undefined && config.preset !== undefined
  const chain = await resolvePreset(
    presetName,
    options.presets,
    [],
    namedInConfig ? options.configFile : undefined,
  )
  const baseDir = options.configFile ? resolvePath(options.configFile, '..') : options.cwd
  let plugins: Sourced[] = []
  let defaults: RawConfig = {}
  for (const preset of chain) {
    plugins = overlay(
      plugins,
      await loadEntries(preset.plugins, `preset '${preset.name}'`, options.cwd, options.tauHome),
    )
    if (preset.config) defaults = mergeConfig(defaults, preset.config)
  }
  const userPlugins = config.plugins
  if (userPlugins !== undefined && !Array.isArray(userPlugins)) {
    throw new TauError('TAU_CONFIG_INVALID', `plugins: expected an array, got ${describe(userPlugins)}`)
  }
  plugins = overlay(
    plugins,
    await loadEntries(userPlugins, options.configFile ?? 'config', baseDir, options.tauHome),
  )
  const disabled = config.disablePlugins
  if (Array.isArray(disabled)) {
    const names = plugins.map((p) => p.plugin.name)
    for (const name of disabled) {
      if (typeof name === 'string' && !names.includes(name)) {
        throw new TauError(
          'TAU_PLUGIN_DISABLE_UNKNOWN',
          `disablePlugins: no plugin named '${name}' is loaded${didYouMean(name, names)}`,
          { details: [`loaded plugins: ${names.join(', ') || '(none)'}`] },
        )
      }
    }
    plugins = plugins.filter((p) => !disabled.includes(p.plugin.name))
  }
  const user: RawConfig = { ...config }
  for (const key of ['preset', 'plugins'] as const) delete user[key]
  const merged = mergeConfig(defaults, user)
  return { presets: chain.map((p) => p.name), plugins: plugins.map((p) => p.plugin), config: merged }
}
