/**
 * Claude Code's MCP allowlist and denylist (`allowedMcpServers`, `deniedMcpServers`) from the
 * settings files, with the policy switch `allowManagedMcpServersOnly`. An entry names a server
 * (`serverName`), the exact command line of a stdio server (`serverCommand`), or a URL pattern
 * of a remote one (`serverUrl`, `*` for any run of characters).
 *
 * A server on any denylist is not started. When any allowlist is in force, a server must match
 * it: a stdio server by its command once the list has command entries (else by name), a remote
 * one by its URL once it has URL entries (else by name). Allowlists of every layer add up, except
 * that `allowManagedMcpServersOnly: true` in a managed file leaves only managed allowlists, and a
 * project's (project, local) count only in a trusted workspace, since they could widen another.
 */
import { TauError } from '../../kernel/index.js'
import {
  managedSwitch,
  needsTrust,
  readSettingsSource,
  type SettingsOptions,
  type SettingsPaths,
  settingsSources,
} from '../permissions/index.js'
import type { ResolvedServerConfig } from './config.js'

type Entry =
  | { readonly serverName: string }
  | { readonly serverCommand: readonly string[] }
  | { readonly serverUrl: string }

export interface McpServerPolicy {
  /** Undefined: no allowlist is in force. */
  readonly allowed?: readonly Entry[]
  readonly denied: readonly Entry[]
  /** Where the lists came from, for messages. */
  readonly files: readonly string[]
  readonly problems: readonly string[]
}

function entries(file: string, key: string, value: unknown): Entry[] {
  const bad = (detail: string) =>
    new TauError('TAU_CONFIG_INVALID', `settings file ${file}: ${key}${detail}`, { file, plugin: 'mcp' })
  if (!Array.isArray(value)) throw bad(': expected an array of { serverName | serverCommand | serverUrl }')
  return value.map((entry, i) => {
    const fields = typeof entry === 'object' && entry !== null ? Object.keys(entry) : []
    const set = fields.filter((f) => f === 'serverName' || f === 'serverCommand' || f === 'serverUrl')
    if (set.length !== 1) throw bad(`[${i}]: needs exactly one of serverName, serverCommand, serverUrl`)
    const field = set[0] as 'serverName' | 'serverCommand' | 'serverUrl'
    const v = (entry as Record<string, unknown>)[field]
    if (field === 'serverCommand') {
      if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string'))
        throw bad(`[${i}].serverCommand: expected a non-empty array of strings`)
      return { serverCommand: v as string[] }
    }
    if (typeof v !== 'string' || v === '') throw bad(`[${i}].${field}: expected a non-empty string`)
    return field === 'serverName' ? { serverName: v } : { serverUrl: v }
  })
}

export function loadMcpPolicy(
  paths: SettingsPaths,
  options: SettingsOptions,
  trusted: boolean,
): McpServerPolicy {
  const sources = settingsSources(paths, options)
  const managedOnly = managedSwitch(sources, 'allowManagedMcpServersOnly')
  const problems = managedOnly.ignored.map(
    (s) =>
      `allowManagedMcpServersOnly in ${s.file} counts only in managed settings (the policy files); ignored`,
  )
  let allowed: Entry[] | undefined
  const denied: Entry[] = []
  const files: string[] = []
  for (const source of sources) {
    const data = readSettingsSource(source, 'allowedMcpServers')
    if (!data) continue
    if (data.deniedMcpServers !== undefined) {
      denied.push(...entries(source.file, 'deniedMcpServers', data.deniedMcpServers))
      files.push(source.file)
    }
    if (data.allowedMcpServers === undefined) continue
    const list = entries(source.file, 'allowedMcpServers', data.allowedMcpServers)
    if (managedOnly.on && source.scope !== 'managed') {
      problems.push(
        `allowedMcpServers of ${source.file} ignored by policy: allowManagedMcpServersOnly in ${managedOnly.file}`,
      )
      continue
    }
    if (!trusted && needsTrust(source.scope)) {
      problems.push(`allowedMcpServers of ${source.file} not applied: the workspace is not trusted`)
      continue
    }
    allowed = [...(allowed ?? []), ...list]
    files.push(source.file)
  }
  return { ...(allowed ? { allowed } : {}), denied, files: [...new Set(files)], problems }
}

/**
 * A URL pattern: `*` in the scheme and host matches within them only (`https://*.corp.example/*`
 * does not match `https://evil.example/?.corp.example/`); in the path, anything.
 */
function wildcard(pattern: string): RegExp {
  const scheme = pattern.indexOf('://')
  const slash = pattern.indexOf('/', scheme === -1 ? 0 : scheme + 3)
  const split = slash === -1 ? pattern.length : slash
  const part = (text: string, any: string) =>
    text
      .split('*')
      .map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join(any)
  return new RegExp(`^${part(pattern.slice(0, split), '[^/?#@]*')}${part(pattern.slice(split), '.*')}$`)
}

function matches(entry: Entry, name: string, server: ResolvedServerConfig): boolean {
  if ('serverName' in entry) return entry.serverName === name
  if ('serverCommand' in entry) {
    if (server.transport !== 'stdio') return false
    const line = [server.command, ...server.args]
    return (
      line.length === entry.serverCommand.length && line.every((word, i) => word === entry.serverCommand[i])
    )
  }
  return server.transport !== 'stdio' && wildcard(entry.serverUrl).test(server.url)
}

/** Why the policy keeps a server from starting; undefined when it may start. */
export function blockedBy(
  policy: McpServerPolicy,
  name: string,
  server: ResolvedServerConfig,
): string | undefined {
  if (policy.denied.some((entry) => matches(entry, name, server))) return 'it is on deniedMcpServers'
  const allowed = policy.allowed
  if (allowed === undefined) return undefined
  const stdio = server.transport === 'stdio'
  // Once a list names commands (URLs), a stdio (remote) server must match one: a name is not enough.
  const kind = stdio ? 'serverCommand' : 'serverUrl'
  const strict = allowed.some((entry) => kind in entry)
  const ok = allowed.some(
    (entry) => (strict ? kind in entry : 'serverName' in entry) && matches(entry, name, server),
  )
  return ok ? undefined : `it matches no entry of allowedMcpServers${strict ? ` (by ${kind})` : ''}`
}

/** The servers the policy lets start; the others are logged with the reason. */
export function applyMcpPolicy(
  servers: Record<string, ResolvedServerConfig>,
  policy: McpServerPolicy,
  warn: (message: string) => void,
): Record<string, ResolvedServerConfig> {
  const out: Record<string, ResolvedServerConfig> = {}
  for (const [name, server] of Object.entries(servers)) {
    const why = server.disabled ? undefined : blockedBy(policy, name, server)
    if (why === undefined) out[name] = server
    else warn(`MCP server ${name} not started by policy: ${why} (${policy.files.join(', ')})`)
  }
  return out
}
