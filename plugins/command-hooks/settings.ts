/**
 * Where command hooks come from: the `hooks` config slice and the `hooks` key of the settings
 * files `<project>/.tau/settings.local.json`, `<project>/.tau/settings.json` and
 * `<tauHome>/settings.json` — the files the permissions plugin reads `permissions` from, in the
 * shape Claude Code's settings files use. Every source adds its hooks; none replaces another.
 *
 * A file that is not valid JSON, or whose `hooks` has the wrong shape, stops tau with an error
 * naming the file and the field. An event tau does not run, or a hook type other than `command`
 * (Claude Code's `prompt`, `http`, ...), is reported as a problem and skipped: a settings file
 * shared with Claude Code keeps working.
 *
 * Managed (policy) files' hooks come first. There `allowManagedHooksOnly: true` leaves only their
 * hooks, and `disableAllHooks: true` none at all; `disableAllHooks` in any other file turns off
 * every hook but the managed ones (as in Claude Code: only a policy file can stop a policy hook).
 */
import { z } from 'zod'
import { closest, TauError } from '../../kernel/index.js'
import {
  type FileScope,
  managedSwitch,
  readSettingsSource,
  type SettingsOptions,
  type SettingsPaths,
  type SettingsSource,
  settingsSources,
} from '../permissions/index.js'
import {
  type CommandHooksConfig,
  DEFAULT_TIMEOUT_SECONDS,
  HOOK_EVENTS,
  type HookEventName,
  hookCommand,
  matcherText,
} from './config.js'
import { compileMatcher, type Matcher } from './matcher.js'

export interface HookSource {
  readonly scope: 'managed' | 'config' | 'cli' | FileScope
  /** The settings file (or the config file), when known. */
  readonly file?: string
}

/** One command hook, ready to run. */
export interface CommandHookEntry {
  readonly event: HookEventName
  readonly matcherText: string | undefined
  readonly matches: Matcher
  readonly command: string
  readonly timeoutMs: number
  readonly source: HookSource
  /** Where it was declared: `hooks.PreToolUse[0].hooks[1]`. */
  readonly field: string
}

export interface LoadedHooks {
  readonly entries: CommandHookEntry[]
  /** Things skipped, to be logged as warnings. */
  readonly problems: string[]
}

type RawGroups = Partial<
  Record<HookEventName, ReadonlyArray<{ matcher?: string; hooks: readonly unknown[] }>>
>

/**
 * Reads the config slice and the settings layers (managed, `--settings`, tau's and Claude Code's
 * files). Throws a TauError for a malformed file.
 */
export function loadHooks(
  config: CommandHooksConfig,
  paths: SettingsPaths,
  options: SettingsOptions = {},
): LoadedHooks {
  const entries: CommandHookEntry[] = []
  const problems: string[] = []
  const configSource: HookSource =
    paths.configFile === undefined ? { scope: 'config' } : { scope: 'config', file: paths.configFile }
  const sources = settingsSources(paths, options)
  const managedOnly = managedSwitch(sources, 'allowManagedHooksOnly')
  const disabled = managedSwitch(sources, 'disableAllHooks')
  for (const source of managedOnly.ignored)
    problems.push(
      `allowManagedHooksOnly in ${source.file} counts only in managed settings (the policy files); ignored`,
    )
  // disableAllHooks outside the policy files (the highest that sets it decides) turns off every
  // hook but the managed ones.
  const top = disabled.ignored[0]
  const userDisabled =
    top !== undefined && readSettingsSource(top, 'disableAllHooks')?.disableAllHooks === true
      ? top
      : undefined
  const policy = disabled.on
    ? `disableAllHooks in ${disabled.file}`
    : managedOnly.on
      ? `allowManagedHooksOnly in ${managedOnly.file}`
      : undefined
  const add = (groups: RawGroups, source: HookSource) => {
    if (source.scope !== 'managed' || disabled.on) {
      const why = policy ?? (userDisabled ? `disableAllHooks in ${userDisabled.file}` : undefined)
      if (why !== undefined) {
        const count = HOOK_EVENTS.reduce(
          (n, event) => n + (groups[event] ?? []).reduce((m, group) => m + group.hooks.length, 0),
          0,
        )
        if (count > 0)
          problems.push(
            `${count} hook${count === 1 ? '' : 's'} of ${describe(source)} not run${policy ? ' by policy' : ''}: ${why}`,
          )
        return
      }
    }
    addGroups(entries, problems, groups, source)
  }
  let configAdded = false
  for (const source of sources) {
    if (source.scope !== 'managed' && !configAdded) {
      // The config slice was validated by the kernel against the schema (matchers included).
      add(config as RawGroups, configSource)
      configAdded = true
    }
    const groups = readHooksFile(source, problems)
    if (groups) add(groups, { scope: source.scope, file: source.file })
  }
  if (!configAdded) add(config as RawGroups, configSource)
  return { entries, problems }
}

function addGroups(
  entries: CommandHookEntry[],
  problems: string[],
  groups: RawGroups,
  source: HookSource,
): void {
  for (const event of HOOK_EVENTS) {
    const list = groups[event] ?? []
    list.forEach((group, g) => {
      const matches = compileMatcher(group.matcher)
      group.hooks.forEach((hook, h) => {
        const field = `hooks.${event}[${g}].hooks[${h}]`
        const type = (hook as { type?: unknown }).type
        if (type !== 'command') {
          problems.push(
            `${field} in ${describe(source)}: hook type ${JSON.stringify(type)} is not run by tau (only "command" is); skipped`,
          )
          return
        }
        const { command, timeout } = hook as { command: string; timeout?: number }
        entries.push({
          event,
          matcherText: group.matcher,
          matches,
          command,
          timeoutMs: Math.round((timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000),
          source,
          field,
        })
      })
    })
  }
}

export function describe(source: HookSource): string {
  if (source.file) return source.file
  return source.scope === 'config' ? 'the config' : `the ${source.scope} settings`
}

/** A settings file's groups: a hook's `type` is checked here, a command hook's fields below. */
const fileGroups = z.array(
  z.looseObject({
    matcher: matcherText,
    hooks: z.array(z.looseObject({ type: z.string() })),
  }),
)

/** The `hooks` of one settings layer; undefined when its file does not exist. */
export function readHooksFile(entry: SettingsSource | string, problems: string[]): RawGroups | undefined {
  const source: SettingsSource =
    typeof entry === 'string' ? { scope: 'project', file: entry, origin: 'tau' } : entry
  const file = source.file
  const hooks = readSettingsSource(source, 'hooks')?.hooks
  if (hooks === undefined) return undefined
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) {
    throw invalid(file, `hooks: expected an object of events ({ "PreToolUse": [...] }), got ${shown(hooks)}`)
  }
  const out: RawGroups = {}
  for (const [event, value] of Object.entries(hooks as Record<string, unknown>)) {
    if (!(HOOK_EVENTS as readonly string[]).includes(event)) {
      const guess = closest(event, HOOK_EVENTS)
      problems.push(
        `hooks.${event} in ${file} is not an event tau runs command hooks for; ignored${guess ? ` (did you mean '${guess}'?)` : ''}`,
      )
      continue
    }
    const groups = fileGroups.safeParse(value)
    if (!groups.success) throw fromIssue(file, ['hooks', event], value, groups.error.issues[0]!)
    groups.data.forEach((group, g) => {
      group.hooks.forEach((hook, h) => {
        if (hook.type !== 'command') return
        const checked = hookCommand.safeParse(hook)
        if (!checked.success) {
          throw fromIssue(file, ['hooks', event, g, 'hooks', h], hook, checked.error.issues[0]!)
        }
      })
    })
    out[event as HookEventName] = groups.data
  }
  return out
}

function invalid(file: string, detail: string): TauError {
  return new TauError('TAU_CONFIG_INVALID', `settings file ${file}: ${detail}`, { file })
}

function fromIssue(
  file: string,
  base: readonly PropertyKey[],
  root: unknown,
  issue: z.core.$ZodIssue,
): TauError {
  let value: unknown = root
  for (const key of issue.path) {
    value =
      typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined
  }
  const got = value === undefined ? 'nothing' : shown(value)
  const text =
    issue.code === 'invalid_type'
      ? `expected ${issue.expected}, got ${got}`
      : issue.code === 'invalid_value'
        ? `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${got}`
        : `${issue.message} (got ${got})`
  return invalid(file, `${fieldPath([...base, ...issue.path])}: ${text}`)
}

function fieldPath(segments: readonly PropertyKey[]): string {
  let out = ''
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  const text = JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text
}
