/**
 * A session's own settings (`AgentSessionOptions.settings`: `mcpServers`, `sandbox`, ...) as the
 * session log keeps them, in its meta record, so a reopened, resumed or forked session runs with
 * them. Secrets never reach the log: a literal value in an environment or header record (`env`,
 * `headers`, `containerEnv`, `set`) or an OAuth secret (`clientSecret`, `privateKey`) is withheld —
 * left out, its path listed in `withheld` — and only a value that names a variable (`${TOKEN}`,
 * `Bearer ${TOKEN}`: the secret stays in the environment) is written as it is. tau cannot tell a
 * secret from a plain value there, so every literal one is withheld.
 */
import type { SessionMeta } from './transcript.js'

/** Records whose string values may be credentials (a server's env and headers, a sandbox's env.set). */
const SECRET_RECORDS: ReadonlySet<string> = new Set(['env', 'headers', 'containerEnv', 'set'])
/** Single fields that are credentials (a remote MCP server's oauth). */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['clientSecret', 'privateKey'])
const VARIABLE = /\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}/

type Path = readonly string[]

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A value the log may hold: not a string, empty, or one that takes its secret from a variable. */
function loggable(value: unknown): boolean {
  return typeof value !== 'string' || value === '' || VARIABLE.test(value)
}

/** The settings as the log keeps them, and the paths of the values left out. */
export function settingsForLog(
  settings: Readonly<Record<string, unknown>>,
): Pick<SessionMeta, 'settings' | 'withheld'> {
  const withheld: Path[] = []
  const walk = (value: unknown, path: Path, secretRecord: boolean): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, String(i)], false))
    if (!isPlainObject(value)) return value
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) {
      if (child === undefined) continue
      const at = [...path, key]
      if ((secretRecord || SECRET_FIELDS.has(key)) && !loggable(child)) {
        withheld.push(at)
        continue
      }
      out[key] = walk(child, at, SECRET_RECORDS.has(key) && isPlainObject(child))
    }
    return out
  }
  const logged = walk(settings, [], false) as Record<string, unknown>
  return { settings: logged, ...(withheld.length > 0 ? { withheld } : {}) }
}

/**
 * The settings a session reopened from its log runs with, and what was lost on the way. An MCP
 * server (`mcpServers.NAME`) with a withheld value is left out whole: it would connect without
 * its credentials (or start an OAuth login nobody asked for). Any other withheld value is simply
 * absent. Each loss is a warning that says how to keep it (a `${VAR}` reference).
 */
export function settingsFromLog(meta: Pick<SessionMeta, 'id' | 'settings' | 'withheld'>): {
  settings: Record<string, unknown> | undefined
  warnings: string[]
} {
  if (meta.settings === undefined) return { settings: undefined, warnings: [] }
  const settings = structuredClone(meta.settings) as Record<string, unknown>
  const warnings: string[] = []
  const dropped = new Set<string>()
  for (const path of meta.withheld ?? []) {
    if (path[0] === 'mcpServers' && path[1] !== undefined) {
      const servers = settings.mcpServers
      if (dropped.has(path[1])) continue
      dropped.add(path[1])
      if (isPlainObject(servers)) delete servers[path[1]]
      warnings.push(
        `session ${meta.id}: its MCP server '${path[1]}' is not connected: ${path.slice(2).join('.')} was a literal value, which the session log does not keep (it may be a secret); give it as a \${VAR} reference to keep the server across restarts`,
      )
      continue
    }
    warnings.push(
      `session ${meta.id}: its setting ${path.join('.')} is not set: it was a literal value there, which the session log does not keep (it may be a secret); pass it through tau's environment to keep it across restarts`,
    )
  }
  return { settings, warnings }
}
