/**
 * The environment a subprocess gets: an allowlist over the parent's variables, never the whole
 * environment. Entries are exact names (`PATH`) or prefixes ending in `*` (`LC_*`).
 *
 * A variable whose name looks like a secret (`*_KEY`, `*TOKEN*`, `*SECRET*`, passwords,
 * credentials, `*_AUTH_*`) never comes in through a prefix; only an exact name in the allowlist
 * lets it through (`env.allow: ['NPM_TOKEN']`).
 */

/**
 * Safe by default: what shells, compilers and test runners need to behave normally.
 * Deliberately left out: proxies (their URLs may carry credentials), SSH_AUTH_SOCK and other
 * agent sockets (they grant the user's identity), XDG_* runtime dirs (D-Bus and keyring sockets),
 * npm_config_* (may hold registry tokens), cloud SDK variables.
 */
export const DEFAULT_ENV_ALLOW: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TERM',
  'COLORTERM',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TZ',
  'NO_COLOR',
  'FORCE_COLOR',
  // NODE_ENV, NODE_OPTIONS, NODE_EXTRA_CA_CERTS, NODE_PATH...; NODE_AUTH_TOKEN is caught below.
  'NODE_*',
  // Windows essentials (harmless elsewhere).
  'SYSTEMROOT',
  'COMSPEC',
  'PATHEXT',
  'WINDIR',
])

const SECRET_NAME =
  /(^|_)KEYS?($|_)|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|(^|_)AUTH($|_)|COOKIE|SESSION/i

/** Whether a variable name looks like it holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name)
}

export interface EnvAllowlist {
  /** Whether the variable may pass from the parent to a subprocess. */
  allows(name: string): boolean
}

export function createEnvAllowlist(extra: readonly string[] = []): EnvAllowlist {
  const exact = new Set<string>()
  const prefixes: string[] = []
  const explicit = new Set<string>()
  for (const entry of [...DEFAULT_ENV_ALLOW, ...extra]) {
    if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1))
    else exact.add(entry)
  }
  for (const entry of extra) if (!entry.endsWith('*')) explicit.add(entry)
  return {
    allows(name) {
      if (explicit.has(name)) return true
      if (isSecretName(name)) return false
      return exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))
    },
  }
}

/** The subprocess environment: allowlisted parent variables, then fixed values on top. */
export function buildProcessEnv(
  parent: NodeJS.ProcessEnv,
  allowlist: EnvAllowlist,
  set: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && allowlist.allows(name)) env[name] = value
  }
  return Object.assign(env, set)
}
