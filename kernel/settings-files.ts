/**
 * The settings files tau reads besides its config: its own (`.tau/`, `$TAU_HOME`) and Claude
 * Code's (`.claude/`, `~/.claude` or `$CLAUDE_CONFIG_DIR`), so a project set up for Claude Code
 * keeps its permissions and hooks, and above them an administrator's managed (policy) files.
 * Plugins read their keys from them; this is only where they are and in which order they count,
 * which `tau config` shows.
 */
import { readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { TauError } from './errors.js'

export type SettingsScope = 'project' | 'local' | 'user'

export interface SettingsLocation {
  readonly projectDir: string
  readonly tauHome: string
  /** Claude Code's user directory (default: $CLAUDE_CONFIG_DIR, else ~/.claude). */
  readonly claudeHome?: string
  /** The policy directories (default: managedSettingsDirs() of process.env). */
  readonly managedSettings?: readonly ManagedSettingsDir[]
}

/** Claude Code's user directory when the caller has none: $CLAUDE_CONFIG_DIR, else ~/.claude. */
export function defaultClaudeHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CLAUDE_CONFIG_DIR ?? join(homedir(), '.claude')
}

/** tau's own settings file of a scope (where tau writes rules it is told to remember). */
export function tauSettingsFile(scope: SettingsScope, paths: SettingsLocation): string {
  if (scope === 'user') return join(paths.tauHome, 'settings.json')
  return join(paths.projectDir, '.tau', scope === 'local' ? 'settings.local.json' : 'settings.json')
}

/** Claude Code's settings file of a scope. */
export function claudeSettingsFile(scope: SettingsScope, paths: SettingsLocation): string {
  if (scope === 'user') {
    return join(paths.claudeHome ?? defaultClaudeHome(), 'settings.json')
  }
  return join(paths.projectDir, '.claude', scope === 'local' ? 'settings.local.json' : 'settings.json')
}

/** A directory of managed (policy) settings: `managed-settings.json` and `managed-settings.d/*.json`. */
export interface ManagedSettingsDir {
  readonly origin: 'tau' | 'claude'
  readonly dir: string
}

/**
 * Where an administrator puts the policy files, tau's own first: `/etc/tau` and Claude Code's
 * `/etc/claude-code` on Linux (macOS: `/Library/Application Support/{tau,ClaudeCode}`; Windows:
 * `C:\Program Files\{tau,ClaudeCode}`). `$TAU_MANAGED_SETTINGS_DIR` replaces the base (its `tau/`
 * and `claude-code/`), for packaging and tests; like any variable it is the machine owner's to set.
 */
export function managedSettingsDirs(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ManagedSettingsDir[] {
  const base = env.TAU_MANAGED_SETTINGS_DIR
  if (base !== undefined && base !== '') {
    return [
      { origin: 'tau', dir: join(resolve(base), 'tau') },
      { origin: 'claude', dir: join(resolve(base), 'claude-code') },
    ]
  }
  if (platform === 'darwin') {
    return [
      { origin: 'tau', dir: '/Library/Application Support/tau' },
      { origin: 'claude', dir: '/Library/Application Support/ClaudeCode' },
    ]
  }
  if (platform === 'win32') {
    return [
      { origin: 'tau', dir: 'C:\\Program Files\\tau' },
      { origin: 'claude', dir: 'C:\\Program Files\\ClaudeCode' },
    ]
  }
  return [
    { origin: 'tau', dir: '/etc/tau' },
    { origin: 'claude', dir: '/etc/claude-code' },
  ]
}

/**
 * The managed MCP files (Claude Code's `managed-mcp.json`), tau's first: when one exists, its
 * servers are the only ones tau may start.
 */
export function managedMcpFiles(dirs: readonly ManagedSettingsDir[] = managedSettingsDirs()): string[] {
  return dirs.map((entry) => join(entry.dir, 'managed-mcp.json'))
}

/**
 * The managed layers of one directory, highest precedence first: the drop-ins of
 * `managed-settings.d/` (`*.json`, hidden files skipped) in reverse name order, then
 * `managed-settings.json`. That is Claude Code's merge (the base, then each drop-in in name
 * order, a later one winning) as layers, so each file keeps its name in messages.
 */
function managedLayers(entry: ManagedSettingsDir): SettingsSource[] {
  const dropIns = join(entry.dir, 'managed-settings.d')
  let names: string[] = []
  try {
    names = readdirSync(dropIns, { withFileTypes: true })
      .filter((d) => !d.name.startsWith('.') && d.name.endsWith('.json') && !d.isDirectory())
      .map((d) => d.name)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new TauError(
        'TAU_CONFIG_LOAD',
        `managed settings directory ${dropIns} could not be read: ${(error as Error).message}`,
        {
          file: dropIns,
          cause: error,
          hint: 'Ask the machine owner to make it readable (it holds policy files).',
        },
      )
    }
  }
  // Code-point order, not the locale's: the same on every machine.
  names.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
  return [
    ...names.map((name) => ({ scope: 'managed' as const, file: join(dropIns, name), origin: entry.origin })),
    { scope: 'managed', file: join(entry.dir, 'managed-settings.json'), origin: entry.origin },
  ]
}

/** One settings layer: a managed (policy) file, a file (tau's or Claude Code's), or the value of `--settings`. */
export interface SettingsSource {
  readonly scope: SettingsScope | 'cli' | 'managed'
  /** The file, or `--settings` for inline JSON. */
  readonly file: string
  readonly origin: 'tau' | 'claude' | 'cli'
  /** Inline JSON given to --settings. */
  readonly text?: string
}

export interface SettingsSelection {
  /** `--settings FILE|JSON`: one more layer, above every file. */
  readonly settings?: string
  /** `--setting-sources user,project,local`: the file scopes read (default: all). */
  readonly sources?: readonly SettingsScope[]
}

/**
 * Every settings layer, highest precedence first: managed (tau's policy files, then Claude Code's;
 * always read: `--setting-sources` does not pick them); `--settings`; local (.tau/settings.local.json,
 * .claude/settings.local.json); project (.tau/settings.json, .claude/settings.json); the config
 * file ranks next; then user ($TAU_HOME/settings.json, ~/.claude/settings.json). In each scope
 * tau's file comes before Claude Code's.
 */
export function settingsSources(
  paths: SettingsLocation,
  selection: SettingsSelection = {},
): SettingsSource[] {
  const out: SettingsSource[] = (paths.managedSettings ?? managedSettingsDirs()).flatMap(managedLayers)
  if (selection.settings !== undefined) {
    const value = selection.settings.trim()
    out.push(
      value.startsWith('{')
        ? { scope: 'cli', file: '--settings', origin: 'cli', text: value }
        : { scope: 'cli', file: resolve(value), origin: 'cli' },
    )
  }
  for (const scope of ['local', 'project', 'user'] as const) {
    if (selection.sources && !selection.sources.includes(scope)) continue
    out.push({ scope, file: tauSettingsFile(scope, paths), origin: 'tau' })
    out.push({ scope, file: claudeSettingsFile(scope, paths), origin: 'claude' })
  }
  return out
}
