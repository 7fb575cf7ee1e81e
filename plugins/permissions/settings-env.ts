/**
 * The `env` and `model` keys of the settings files (Claude Code's settings: `.claude/settings*.json`,
 * `~/.claude/settings.json`, and tau's own `.tau/` and `$TAU_HOME` files, plus `--settings`).
 * Applied by the permissions plugin's configure step, before any plugin is set up, so providers
 * see the variables (`ANTHROPIC_BASE_URL`, ...) and tool and hook processes get them too.
 *
 * Precedence is the settings files' (managed, `--settings`, local, project, then the config
 * file, then user): `model` from a managed, local or project file wins over tau.config.ts's `model`, one from the
 * user file only fills a config without one. A project's files (project and local scope) apply
 * only in a trusted workspace: their `env` could point the provider, and the API key with it,
 * at another server.
 */
import { TauError } from '../../kernel/index.js'
import { readSettingsSource, type SettingsOptions, type SettingsPaths, settingsSources } from './settings.js'

export interface SettingsEnvAndModel {
  /** Variables to set, merged (a higher layer wins). */
  readonly env: Readonly<Record<string, string>>
  /** The managed (policy) files' variables: they win over the config's own values too. */
  readonly managedEnv: Readonly<Record<string, string>>
  /** The highest layer's `model`, and whether it ranks above the config file. */
  readonly model?: { readonly value: string; readonly file: string; readonly overConfig: boolean }
  /** Files whose env or model were left out because the workspace is not trusted. */
  readonly skipped: readonly string[]
}

const PROJECT_SCOPES: ReadonlySet<string> = new Set(['project', 'local'])

export function readEnvAndModel(
  paths: SettingsPaths,
  options: SettingsOptions,
  trusted: boolean,
): SettingsEnvAndModel {
  const env: Record<string, string> = {}
  const managedEnv: Record<string, string> = {}
  let model: SettingsEnvAndModel['model']
  const skipped: string[] = []
  // Lowest precedence first, so a higher layer's variable replaces a lower one's.
  for (const source of settingsSources(paths, options).reverse()) {
    const data = readSettingsSource(source, 'env')
    if (!data || (data.env === undefined && data.model === undefined)) continue
    if (PROJECT_SCOPES.has(source.scope) && !trusted) {
      skipped.push(`env and model of ${source.file}`)
      continue
    }
    if (data.env !== undefined) {
      const value = data.env
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalid(source.file, 'env', 'an object of variable names to strings ({"FOO": "bar"})')
      }
      for (const [name, text] of Object.entries(value)) {
        if (typeof text !== 'string') throw invalid(source.file, `env.${name}`, 'a string')
        env[name] = text
        if (source.scope === 'managed') managedEnv[name] = text
      }
    }
    if (data.model !== undefined) {
      if (typeof data.model !== 'string' || data.model.trim() === '')
        throw invalid(
          source.file,
          'model',
          'a model name, e.g. "claude-sonnet-4-5" or "anthropic:claude-sonnet-4-5"',
        )
      model = { value: modelRef(data.model.trim()), file: source.file, overConfig: source.scope !== 'user' }
    }
  }
  return { env, managedEnv, ...(model ? { model } : {}), skipped }
}

/** Claude Code names models bare (`claude-sonnet-4-5`): those are Anthropic's. */
function modelRef(value: string): string {
  return !value.includes(':') && value.startsWith('claude-') ? `anthropic:${value}` : value
}

function invalid(file: string, field: string, expected: string): TauError {
  return new TauError('TAU_CONFIG_INVALID', `settings file ${file}: ${field} must be ${expected}`, {
    file,
    plugin: 'permissions',
  })
}
