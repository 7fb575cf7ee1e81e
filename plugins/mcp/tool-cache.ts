/**
 * The tool lists of stdio servers from their last connection, kept under
 * `$TAU_HOME/cache/mcp-tools/`, one JSON file per server config: with one there, tau offers the
 * server's tools at once and connects it while the first model call runs (connection.ts), then
 * replaces them with what the server lists. The file's name is a hash of everything that starts
 * the server (its expanded command, args, cwd and env, and the project), so a changed config is
 * a different file and never gets another server's tools. Bookkeeping, not the user's: a file
 * that is missing, unreadable or of another shape is no cache (the server is waited for, as
 * without one); writes are atomic (a temporary file, then a rename).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Tool } from '../tools/index.js'
import type { ResolvedServerConfig } from './config.js'

/** Under `$TAU_HOME`. */
export const TOOL_CACHE_DIR = join('cache', 'mcp-tools')
const VERSION = 1

/** What a server offered at its last connection. */
export interface CachedTools {
  readonly tools: readonly McpTool[]
  /** It declared resources (the resource tools are offered with its tools). */
  readonly resources: boolean
}

interface CacheFile extends CachedTools {
  readonly version: typeof VERSION
  readonly server: string
}

export class ToolCache {
  constructor(readonly dir: string) {}

  /** The file of one server config (expanded: the values the process is started with). */
  file(server: string, config: ResolvedServerConfig, projectDir: string): string {
    const key = JSON.stringify({ version: VERSION, server, projectDir, config: startKey(config) })
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`)
  }

  read(file: string, server: string): CachedTools | undefined {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      return undefined
    }
    const entry = parsed as Partial<CacheFile> | null
    if (
      entry?.version !== VERSION ||
      entry.server !== server ||
      !Array.isArray(entry.tools) ||
      !entry.tools.every(isTool)
    )
      return undefined
    return { tools: entry.tools, resources: entry.resources === true }
  }

  /** Keeps `tools` for the next start; a failure to write only loses the head start. */
  write(file: string, server: string, offered: CachedTools): boolean {
    const text = `${JSON.stringify({ version: VERSION, server, ...offered } satisfies CacheFile)}\n`
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`
    try {
      if (this.lastWritten.get(file) === text) return true
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      writeFileSync(temporary, text, { mode: 0o600 })
      renameSync(temporary, file)
      this.lastWritten.set(file, text)
      return true
    } catch {
      rmSync(temporary, { force: true })
      return false
    }
  }

  private readonly lastWritten = new Map<string, string>()
}

/** What starts the server, and nothing else (timeouts, retry and the like leave the key alone). */
function startKey(config: ResolvedServerConfig): unknown {
  if (config.transport !== 'stdio') return { transport: config.transport, url: config.url }
  const env = Object.entries(config.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return { command: config.command, args: config.args, cwd: config.cwd ?? null, env }
}

function isTool(value: unknown): value is McpTool {
  const tool = value as { name?: unknown; inputSchema?: unknown } | null
  return (
    typeof tool === 'object' &&
    tool !== null &&
    typeof tool.name === 'string' &&
    typeof tool.inputSchema === 'object' &&
    tool.inputSchema !== null
  )
}

/**
 * The input of a tool offered from the cache: checked once the server is connected, with the
 * schema the server now lists for that name (it may have changed); `live` resolves to that
 * schema, or to why there is none (the server failed, or no longer offers the tool).
 */
export function cachedInput(live: () => Promise<Tool['input'] | string>): StandardSchemaV1<unknown, unknown> {
  return {
    '~standard': {
      version: 1,
      vendor: 'tau-mcp',
      async validate(value: unknown) {
        const input = await live()
        if (typeof input === 'string') return { issues: [{ message: input }] }
        return input['~standard'].validate(value)
      },
    },
  }
}
