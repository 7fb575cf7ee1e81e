/**
 * `${VAR}` and `${VAR:-default}` expansion in server configs, as Claude Code does it for
 * `.mcp.json`: in command, args, env, url, headers and the oauth strings. A variable that is unset and has no
 * default is reported (the server fails to start with its name), never silently emptied.
 */
import type { OAuthConfig, ResolvedServerConfig } from './config.js'

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export interface Expanded<T> {
  readonly value: T
  /** Variables used without a default that are not set. */
  readonly missing: readonly string[]
}

export function expandString(text: string, env: NodeJS.ProcessEnv, missing: Set<string>): string {
  return text.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
    const value = env[name]
    if (value !== undefined && value !== '') return value
    if (fallback !== undefined) return fallback
    if (value === undefined) missing.add(name)
    return ''
  })
}

function expandRecord(
  record: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
  missing: Set<string>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, expandString(v, env, missing)]))
}

function expandOAuth(oauth: OAuthConfig, env: NodeJS.ProcessEnv, missing: Set<string>): OAuthConfig {
  const out: Record<string, unknown> = { ...oauth }
  for (const key of ['clientId', 'clientSecret', 'clientMetadataUrl', 'scope', 'privateKey'] as const) {
    const value = oauth[key]
    if (value !== undefined) out[key] = expandString(value, env, missing)
  }
  return out as OAuthConfig
}

/** Expands the variables of one server config (command, args, env, cwd, url, headers). */
export function expandServerConfig(
  config: ResolvedServerConfig,
  env: NodeJS.ProcessEnv,
): Expanded<ResolvedServerConfig> {
  const missing = new Set<string>()
  let value: ResolvedServerConfig
  if (config.transport === 'stdio') {
    value = {
      ...config,
      command: expandString(config.command, env, missing),
      args: config.args.map((arg) => expandString(arg, env, missing)),
      env: expandRecord(config.env, env, missing),
      ...(config.cwd === undefined ? {} : { cwd: expandString(config.cwd, env, missing) }),
    }
  } else {
    value = {
      ...config,
      url: expandString(config.url, env, missing),
      headers: expandRecord(config.headers, env, missing),
      ...(config.oauth ? { oauth: expandOAuth(config.oauth, env, missing) } : {}),
    }
  }
  return { value, missing: [...missing] }
}
