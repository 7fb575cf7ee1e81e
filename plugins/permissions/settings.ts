/**
 * Where rules come from: the `permissions` slice of tau.config.ts and the settings files
 * `<project>/.tau/settings.json`, `<project>/.tau/settings.local.json` and
 * `<tauHome>/settings.json` (the same `permissions` shape as Claude Code's settings files), with
 * Claude Code's, and above all the managed (policy) files, whose `allowManagedPermissionRulesOnly`
 * leaves only their own rules in force.
 *
 * The files are read synchronously at setup (they are tiny): a file that is not valid JSON, or
 * whose `permissions` has the wrong shape, stops tau with an error naming the file and field.
 * A settings file is never ignored silently, and never read as "allow".
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import {
  claudeSettingsFile,
  closest,
  type ManagedSettingsDir,
  type SettingsScope,
  type SettingsSelection,
  type SettingsSource,
  settingsSources,
  TauError,
  tauSettingsFile,
} from '../../kernel/index.js'
import { parseSettingsJson, readSettingsJson } from './settings-file.js'
import type { PermissionMode, PermissionProblem, PermissionRule, RuleSource } from './types.js'

export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk'] as const

const rules = z.array(z.string())

/** The `permissions` config slice in tau.config.ts. */
export const permissionsConfig = z.strictObject({
  /** Rules that let a tool call run without asking, e.g. `Bash(npm test:*)`. */
  allow: rules.default([]),
  /** Rules that always ask, whatever the mode. */
  ask: rules.default([]),
  /** Rules that always deny; deny beats ask beats allow. */
  deny: rules.default([]),
  /** The mode sessions start in (settings files may override it; see README). Default 'default'. */
  defaultMode: z.enum(PERMISSION_MODES).optional(),
  /** More directories that count as the workspace: absolute, `~/...`, or relative to the project. */
  additionalDirectories: z.array(z.string().min(1)).default([]),
  /** 'disable' forbids bypassPermissions mode, from any source. */
  disableBypassPermissionsMode: z.literal('disable').optional(),
})

export type PermissionsConfig = z.infer<typeof permissionsConfig>

/** The `permissions` object of a settings file: every key optional, unknown keys reported. */
const settingsPermissions = z.looseObject({
  allow: rules.optional(),
  ask: rules.optional(),
  deny: rules.optional(),
  defaultMode: z.enum(PERMISSION_MODES).optional(),
  additionalDirectories: z.array(z.string().min(1)).optional(),
  disableBypassPermissionsMode: z.literal('disable').optional(),
})

type SettingsPermissions = z.infer<typeof settingsPermissions>

const KNOWN_KEYS = [
  'allow',
  'ask',
  'deny',
  'defaultMode',
  'additionalDirectories',
  'disableBypassPermissionsMode',
]

export interface SettingsPaths {
  readonly projectDir: string
  readonly tauHome: string
  readonly claudeHome?: string
  readonly managedSettings?: readonly ManagedSettingsDir[]
  readonly configFile: string | undefined
}

export type FileScope = SettingsScope

/** tau's own settings file of a scope (where `tau` writes rules it is told to remember). */
export const settingsFile = tauSettingsFile

// The name index.ts imports it by.
export { readSettingsJson } from './settings-file.js'
export { claudeSettingsFile, type SettingsSource, settingsSources }

/** The values `--setting-sources` takes, as in Claude Code. */
export const SETTING_SOURCES = ['user', 'project', 'local'] as const

/** The settings flags of `tau start` (read at setup, before the frontend runs). */
export type SettingsOptions = SettingsSelection

/** Reads `--settings` and `--setting-sources` from `tau start`'s arguments (leniently: others are the frontend's). */
export function settingsOptions(argv: readonly string[]): SettingsOptions {
  let settings: string | undefined
  let sources: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') break
    for (const name of ['settings', 'setting-sources'] as const) {
      let value: string | undefined
      if (arg === `--${name}`) value = argv[++i]
      else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3)
      else continue
      if (value === undefined) throw usage(`--${name} needs a value`)
      if (name === 'settings') settings = value
      else sources = value
    }
  }
  const out: { settings?: string; sources?: FileScope[] } = {}
  if (settings !== undefined) out.settings = settings
  if (sources !== undefined) {
    const list = sources
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
    for (const item of list) {
      if (!(SETTING_SOURCES as readonly string[]).includes(item)) {
        throw usage(
          `--setting-sources takes a comma-separated list of ${SETTING_SOURCES.join(', ')}; '${item}' is none of them`,
        )
      }
    }
    out.sources = list as FileScope[]
  }
  return out
}

function usage(message: string): TauError {
  return new TauError('TAU_CLI_USAGE', message)
}

/** Project files need the workspace to be trusted before they may widen anything. */
export function needsTrust(scope: RuleSource['scope']): boolean {
  return scope === 'project' || scope === 'local'
}

/** A settings layer parsed as a JSON object; undefined when its file does not exist (--settings FILE must). */
export function readSettingsSource(source: SettingsSource, key: string): Record<string, unknown> | undefined {
  if (source.text !== undefined) return parseSettingsJson(source.text, source.file, key)
  const data = readSettingsJson(source.file, key)
  if (data === undefined && source.scope === 'cli') {
    throw new TauError('TAU_CONFIG_LOAD', `--settings ${source.file}: no such file`, {
      file: source.file,
      hint: 'Give --settings a settings file that exists, or inline JSON ({"permissions": {...}}).',
    })
  }
  return data
}

/**
 * A switch only a managed (policy) file may turn on (`allowManagedPermissionRulesOnly`,
 * `allowManagedHooksOnly`): the highest managed layer that sets it decides, as in Claude Code's
 * merge of its policy files. Other layers that set it are listed in `ignored`.
 */
export interface ManagedSwitch {
  readonly on: boolean
  /** The managed file that turned it on. */
  readonly file: string | undefined
  readonly ignored: readonly SettingsSource[]
}

export function managedSwitch(sources: readonly SettingsSource[], key: string): ManagedSwitch {
  let decided: { on: boolean; file: string } | undefined
  const ignored: SettingsSource[] = []
  for (const source of sources) {
    const value = readSettingsSource(source, key)?.[key]
    if (value === undefined) continue
    if (source.scope !== 'managed') {
      ignored.push(source)
      continue
    }
    if (typeof value !== 'boolean') {
      throw new TauError(
        'TAU_CONFIG_INVALID',
        `settings file ${source.file}: ${key} must be true or false, got ${JSON.stringify(value)}`,
        { file: source.file },
      )
    }
    decided ??= { on: value, file: source.file }
  }
  return { on: decided?.on === true, file: decided?.on ? decided.file : undefined, ignored }
}

/** What the config and the settings files say, merged. */
export interface LoadedSettings {
  /** In reporting order: managed, cli, local, project, config, user. */
  readonly rules: PermissionRule[]
  readonly problems: PermissionProblem[]
  readonly defaultMode: PermissionMode
  /** Where defaultMode came from; undefined for the built-in default. */
  readonly defaultModeSource: RuleSource | undefined
  /** Absolute paths. */
  readonly additionalDirectories: string[]
  readonly bypassDisabled: boolean
  /** The highest layer that disables bypassPermissions mode, for the message that refuses it. */
  readonly bypassDisabledBy?: RuleSource
  /** The managed file whose allowManagedPermissionRulesOnly leaves only managed rules in force. */
  readonly managedRulesOnly?: string
  /** What an untrusted workspace's files asked for and did not get, for the trust warning. */
  readonly skipped: string[]
}

interface Layer {
  readonly source: RuleSource
  readonly permissions: SettingsPermissions
}

export interface LoadOptions extends SettingsOptions {
  /** False: allow rules, defaultMode and additionalDirectories of project files are left out. */
  readonly trusted?: boolean
}

/** Reads the config slice and the settings layers. Throws a TauError for a malformed file. */
export function loadSettings(
  config: PermissionsConfig,
  paths: SettingsPaths,
  options: LoadOptions = {},
): LoadedSettings {
  const problems: PermissionProblem[] = []
  const layers: Layer[] = []
  const skipped: string[] = []
  const trusted = options.trusted !== false
  const configSource: RuleSource =
    paths.configFile === undefined ? { scope: 'config' } : { scope: 'config', file: paths.configFile }
  const sources = settingsSources(paths, options)
  const policy = managedSwitch(sources, 'allowManagedPermissionRulesOnly')
  for (const entry of policy.ignored) {
    problems.push({
      source: { scope: entry.scope, file: entry.file },
      message:
        'allowManagedPermissionRulesOnly counts only in managed settings (the policy files); ignored here',
    })
  }
  // allowManagedPermissionRulesOnly: the rules of every other layer are reported and left out.
  const governed = (source: RuleSource, permissions: SettingsPermissions): SettingsPermissions => {
    if (!policy.on || source.scope === 'managed') return permissions
    const { allow = [], ask = [], deny = [], ...kept } = permissions
    const count = allow.length + ask.length + deny.length
    if (count > 0) {
      problems.push({
        source,
        message: `${count} permission rule${count === 1 ? '' : 's'} ignored by policy: allowManagedPermissionRulesOnly in ${policy.file} lets only managed rules count`,
      })
    }
    return kept
  }
  // Precedence for defaultMode, and the order rules are reported in: managed, cli, local, project,
  // config, user.
  let configAdded = false
  for (const entry of sources) {
    if (entry.scope === 'user' && !configAdded) {
      layers.push({ source: configSource, permissions: governed(configSource, config) })
      configAdded = true
    }
    const read = readSettingsFile(entry)
    if (read === undefined) continue
    const source: RuleSource = { scope: entry.scope, file: entry.file }
    const permissions = governed(source, read)
    for (const key of Object.keys(read)) {
      if (KNOWN_KEYS.includes(key)) continue
      const guess = closest(key, KNOWN_KEYS)
      problems.push({
        source,
        message: `permissions.${key} is not a permissions setting and is ignored${guess ? ` (did you mean '${guess}'?)` : ''}`,
      })
    }
    if (!trusted && needsTrust(source.scope)) {
      const left: string[] = []
      if (permissions.allow?.length)
        left.push(`${permissions.allow.length} allow rule${permissions.allow.length === 1 ? '' : 's'}`)
      if (permissions.defaultMode !== undefined) left.push(`defaultMode '${permissions.defaultMode}'`)
      if (permissions.additionalDirectories?.length) left.push('additionalDirectories')
      if (left.length > 0) skipped.push(`${left.join(', ')} of ${entry.file}`)
      const { allow: _allow, defaultMode: _mode, additionalDirectories: _dirs, ...kept } = permissions
      layers.push({ source, permissions: kept })
      continue
    }
    layers.push({ source, permissions })
  }
  if (!configAdded) layers.push({ source: configSource, permissions: governed(configSource, config) })

  const out: PermissionRule[] = []
  for (const { source, permissions } of layers) {
    for (const behavior of ['deny', 'ask', 'allow'] as const) {
      for (const text of permissions[behavior] ?? []) out.push({ text, behavior, source })
    }
  }
  const bypassDisabledBy = layers.find(
    (l) => l.permissions.disableBypassPermissionsMode === 'disable',
  )?.source
  const bypassDisabled = bypassDisabledBy !== undefined

  let defaultMode: PermissionMode = 'default'
  let defaultModeSource: RuleSource | undefined
  for (const { source, permissions } of layers) {
    const mode = permissions.defaultMode
    if (mode === undefined) continue
    if (mode === 'bypassPermissions' && (bypassDisabled || source.scope === 'project')) {
      // A checked-in settings file must not turn every check off for whoever clones the repository.
      problems.push({
        source,
        message: bypassDisabled
          ? "defaultMode 'bypassPermissions' is ignored: disableBypassPermissionsMode is 'disable'"
          : "defaultMode 'bypassPermissions' is ignored in a project's settings.json (shared with the repository); set it in tau.config.ts, settings.local.json, the user settings, or with --permission-mode",
      })
      continue
    }
    defaultMode = mode
    defaultModeSource = source
    break
  }

  const additionalDirectories: string[] = []
  for (const { permissions } of layers) {
    for (const dir of permissions.additionalDirectories ?? []) {
      const absolute = expandHome(dir, paths.projectDir)
      if (!additionalDirectories.includes(absolute)) additionalDirectories.push(absolute)
    }
  }
  return {
    rules: out,
    problems,
    defaultMode,
    defaultModeSource,
    additionalDirectories,
    bypassDisabled,
    ...(bypassDisabledBy ? { bypassDisabledBy } : {}),
    ...(policy.on && policy.file !== undefined ? { managedRulesOnly: policy.file } : {}),
    skipped,
  }
}

/** `~/x` in the home directory, relative paths against `base`. */
export function expandHome(path: string, base: string): string {
  if (path === '~') return homedir()
  if (path.startsWith('~/')) return join(homedir(), path.slice(2))
  return resolve(base, path)
}

/** The `permissions` object of one settings layer; undefined when its file does not exist. */
export function readSettingsFile(entry: SettingsSource | string): SettingsPermissions | undefined {
  const source: SettingsSource =
    typeof entry === 'string' ? { scope: 'project', file: entry, origin: 'tau' } : entry
  const file = source.file
  const data = readSettingsSource(source, 'permissions')
  if (data === undefined) return undefined
  const permissions = data.permissions
  if (permissions === undefined) return {}
  const result = settingsPermissions.safeParse(permissions)
  if (!result.success) {
    const details = result.error.issues.map(
      (issue) => `${fieldPath(['permissions', ...issue.path])}: ${issueText(issue, permissions)}`,
    )
    throw new TauError('TAU_CONFIG_INVALID', `settings file ${file}: ${details[0]}`, { file, details })
  }
  return result.data
}

function fieldPath(segments: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

function issueText(issue: z.core.$ZodIssue, root: unknown): string {
  let value: unknown = root
  for (const key of issue.path) {
    value =
      typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined
  }
  const shown = value === undefined ? 'nothing' : JSON.stringify(value)
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${shown}`
  if (issue.code === 'invalid_value') {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${shown}`
  }
  return `${issue.message} (got ${shown})`
}
