/**
 * The project's `.mcp.json` (`{ "mcpServers": { ... } }`, the file Claude Code reads): loading
 * it with errors that name the file and the field, and editing it atomically for
 * `tau mcp add/remove` (write a temporary file next to it, then rename over it).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type ManagedSettingsDir, managedMcpFiles, TauError } from '../../kernel/index.js'
import { type McpConfig, serverSchema } from './config.js'
import { MCP_ERRORS } from './errors.js'

export const MCP_FILE = '.mcp.json'

export function mcpFilePath(projectDir: string): string {
  return join(projectDir, MCP_FILE)
}

function invalid(file: string, message: string, cause?: unknown): TauError {
  return new TauError(MCP_ERRORS.TAU_MCP_FILE_INVALID, `${file}: ${message}`, {
    plugin: 'mcp',
    file,
    ...(cause === undefined ? {} : { cause }),
  })
}

/** Validates the parsed contents of a `.mcp.json`; throws naming the file and the field. */
export function parseMcpFile(file: string, text: string): McpConfig {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw invalid(file, `not valid JSON (${error instanceof Error ? error.message : String(error)})`, error)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw invalid(file, 'expected an object with an "mcpServers" field')
  }
  const servers = (data as Record<string, unknown>).mcpServers
  if (servers === undefined) return {}
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) {
    throw invalid(file, 'mcpServers: expected an object of server configs')
  }
  const result: McpConfig = {}
  for (const [name, raw] of Object.entries(servers)) {
    const parsed = serverSchema.safeParse(raw)
    if (!parsed.success) {
      const problems = describeServerProblem(raw)
      throw invalid(file, `mcpServers.${name}${problems}`)
    }
    result[name] = parsed.data
  }
  return result
}

/** A precise message for one bad server entry (the union's own message is vague). */
function describeServerProblem(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ': expected an object'
  const entry = raw as Record<string, unknown>
  if (!('command' in entry) && !('url' in entry)) return ': needs "command" (stdio) or "url" (http, sse)'
  const checks: Array<[string, (v: unknown) => boolean, string]> = [
    ['command', (v) => typeof v === 'string' && v !== '', 'a non-empty string'],
    ['url', (v) => typeof v === 'string' && v !== '', 'a non-empty string'],
    ['args', (v) => Array.isArray(v) && v.every((a) => typeof a === 'string'), 'an array of strings'],
    ['env', isStringRecord, 'an object of strings'],
    ['headers', isStringRecord, 'an object of strings'],
    ['cwd', (v) => typeof v === 'string', 'a string'],
    ['type', (v) => v === 'stdio' || v === 'http' || v === 'sse', '"stdio", "http" or "sse"'],
    ['disabled', (v) => typeof v === 'boolean', 'true or false'],
    ['timeoutMs', isPositiveInt, 'a positive integer'],
    ['toolTimeoutMs', isPositiveInt, 'a positive integer'],
    [
      'oauth',
      (v) => v === false || (typeof v === 'object' && v !== null && !Array.isArray(v)),
      'false or an object of OAuth settings',
    ],
  ]
  for (const [field, ok, expected] of checks) {
    if (field in entry && !ok(entry[field])) {
      return `.${field}: expected ${expected}, got ${JSON.stringify(entry[field])}`
    }
  }
  if ('command' in entry && entry.type !== undefined && entry.type !== 'stdio') {
    return `.type: "${String(entry.type)}" needs "url", not "command"`
  }
  return ': not a valid server config'
}

function isStringRecord(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  )
}

function isPositiveInt(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0
}

/** Reads the project's `.mcp.json` (sync: it is small, and setup reads it once). Absent -> {}. */
export function loadMcpFile(projectDir: string): McpConfig {
  const file = mcpFilePath(projectDir)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw invalid(file, `cannot be read (${(error as Error).message})`, error)
  }
  return parseMcpFile(file, text)
}

/**
 * The administrator's `managed-mcp.json` files (tau's `/etc/tau/`, Claude Code's
 * `/etc/claude-code/`; see managedMcpFiles), merged with tau's winning a name: undefined when
 * none exists. When one does, its servers are the only ones tau starts (an empty one: none).
 */
export function loadManagedMcp(
  dirs: readonly ManagedSettingsDir[],
): { servers: McpConfig; files: string[] } | undefined {
  let found: { servers: McpConfig; files: string[] } | undefined
  for (const file of managedMcpFiles(dirs)) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') continue
      throw invalid(file, `cannot be read (${(error as Error).message})`, error)
    }
    const servers = parseMcpFile(file, text)
    found = { servers: { ...servers, ...found?.servers }, files: [...(found?.files ?? []), file] }
  }
  return found
}

/**
 * Applies `edit` to the raw JSON of `.mcp.json` (other fields and servers kept as they are)
 * and writes it back atomically. The file is created when missing.
 */
export async function editMcpFile(
  projectDir: string,
  edit: (servers: Record<string, unknown>) => void,
): Promise<string> {
  const file = mcpFilePath(projectDir)
  let data: Record<string, unknown> = {}
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) {
    parseMcpFile(file, text) // refuse to rewrite a file we would not load
    data = JSON.parse(text) as Record<string, unknown>
  }
  const servers = { ...((data.mcpServers as Record<string, unknown> | undefined) ?? {}) }
  edit(servers)
  const next = { ...data, mcpServers: servers }
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`, 'utf8')
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
  return file
}

/**
 * `tau start --mcp-config FILE|JSON` (repeatable) and `--strict-mcp-config`, read from the
 * frontend's arguments at setup, as Claude Code takes them: each value a file or inline JSON in
 * the shape of `.mcp.json`.
 */
export function cliMcpConfig(argv: readonly string[], cwd: string): { servers: McpConfig; strict: boolean } {
  const servers: McpConfig = {}
  let strict = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') break
    if (arg === '--strict-mcp-config') strict = true
    let value: string | undefined
    if (arg === '--mcp-config') value = argv[++i]
    else if (arg.startsWith('--mcp-config=')) value = arg.slice('--mcp-config='.length)
    else continue
    if (value === undefined) throw invalid('--mcp-config', 'needs a file or JSON ({"mcpServers": {...}})')
    const text = value.trim()
    if (text.startsWith('{')) Object.assign(servers, parseMcpFile('--mcp-config', text))
    else {
      const file = resolve(cwd, text)
      let content: string
      try {
        content = readFileSync(file, 'utf8')
      } catch (error) {
        throw invalid(`--mcp-config ${file}`, `cannot be read (${(error as Error).message})`, error)
      }
      Object.assign(servers, parseMcpFile(file, content))
    }
  }
  return { servers, strict }
}
