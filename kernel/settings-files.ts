/**
 * The settings files tau reads besides its config: its own (`.tau/`, `$TAU_HOME`) and Claude
 * Code's (`.claude/`, `~/.claude` or `$CLAUDE_CONFIG_DIR`), so a project set up for Claude Code
 * keeps its permissions and hooks. Plugins read their keys from them; this is only where they
 * are and in which order they count, which `tau config` shows.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export type SettingsScope = 'project' | 'local' | 'user'

export interface SettingsLocation {
  readonly projectDir: string
  readonly tauHome: string
  /** Claude Code's user directory (default: $CLAUDE_CONFIG_DIR, else ~/.claude). */
  readonly claudeHome?: string
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

/** One settings layer: a file (tau's or Claude Code's), or the value of `--settings`. */
export interface SettingsSource {
  readonly scope: SettingsScope | 'cli'
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
 * Every settings layer, highest precedence first: `--settings`; local (.tau/settings.local.json,
 * .claude/settings.local.json); project (.tau/settings.json, .claude/settings.json); the config
 * file ranks next; then user ($TAU_HOME/settings.json, ~/.claude/settings.json). In each scope
 * tau's file comes before Claude Code's.
 */
export function settingsSources(
  paths: SettingsLocation,
  selection: SettingsSelection = {},
): SettingsSource[] {
  const out: SettingsSource[] = []
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
