/**
 * What one session sees of MCP: the global servers and its own (session-servers.ts), as one set
 * for `/mcp`, the resource tools, prompts as slash commands and `@server:` mentions. A session's
 * own servers are in no other session's view; a name is either global or the session's (a session
 * server cannot take a global name), so every call routes by name.
 */
import type { ServerInfo } from './connection.js'
import type { PromptEntry, PromptMessages, ResourceContents, ResourceListing } from './resources.js'
import type { McpServers } from './servers.js'

/** The servers a session sees: each with whose it is. */
export interface SessionServerInfo extends ServerInfo {
  /** `global`: the config's, `.mcp.json`'s, `--mcp-config`'s; `session`: this session's own. */
  readonly scope: 'global' | 'session'
}

export type ServerView = Pick<
  McpServers,
  'listResources' | 'readResource' | 'prompts' | 'getPrompt' | 'whenStarted'
> & {
  list(): SessionServerInfo[]
}

/** The open sessions' own server sets, by session id (added and removed with the session's scope). */
export class SessionServerIndex {
  private readonly sets = new Map<string, McpServers>()
  add(sessionId: string, servers: McpServers): void {
    this.sets.set(sessionId, servers)
  }
  remove(sessionId: string, servers: McpServers): void {
    if (this.sets.get(sessionId) === servers) this.sets.delete(sessionId)
  }
  get(sessionId: string | undefined): McpServers | undefined {
    return sessionId === undefined ? undefined : this.sets.get(sessionId)
  }
}

function mergeListings(a: ResourceListing, b: ResourceListing): ResourceListing {
  return {
    resources: [...a.resources, ...b.resources],
    resourceTemplates: [...a.resourceTemplates, ...b.resourceTemplates],
    errors: [...a.errors, ...b.errors],
  }
}

/** The global servers and, when the session has any, its own, as one view. */
export function serverView(global: McpServers, own: McpServers | undefined): ServerView {
  const owner = (name: string): McpServers => (own?.get(name) ? own : global)
  // The session's servers connect with it: a listing right after its creation (an editor's
  // command list, a prompt's mention) waits for their first attempt, as its first turn does.
  const ready = async (): Promise<McpServers | undefined> => {
    await own?.whenStarted()
    return own
  }
  return {
    list: () => [
      ...global.list().map((s) => ({ ...s, scope: 'global' as const })),
      ...(own?.list() ?? []).map((s) => ({ ...s, scope: 'session' as const })),
    ],
    whenStarted: async () => {
      await Promise.all([global.whenStarted(), own?.whenStarted()])
    },
    async listResources(server?: string): Promise<ResourceListing> {
      if (server !== undefined) {
        await ready()
        return owner(server).listResources(server)
      }
      const [a, b] = await Promise.all([global.listResources(), ready().then((s) => s?.listResources())])
      return b ? mergeListings(a, b) : a
    },
    async readResource(server: string, uri: string): Promise<ResourceContents> {
      await ready()
      return owner(server).readResource(server, uri)
    },
    async prompts(): Promise<PromptEntry[]> {
      const [a, b] = await Promise.all([global.prompts(), ready().then((s) => s?.prompts())])
      return [...a, ...(b ?? [])]
    },
    getPrompt: (
      server: string,
      name: string,
      args?: Record<string, string>,
      signal?: AbortSignal,
    ): Promise<PromptMessages> => owner(server).getPrompt(server, name, args, signal),
  }
}

/** `/mcp`: the servers this session sees, its own marked. */
export function renderView(servers: readonly SessionServerInfo[]): string {
  if (servers.length === 0)
    return 'No MCP servers in this session (tau mcp add NAME -- COMMAND adds one to the project).'
  const lines: string[] = []
  for (const server of servers) {
    const whose = server.scope === 'session' ? "  (this session's own)" : ''
    lines.push(
      `${server.name}  ${server.transport}  ${server.status}${server.error ? `: ${server.error}` : ''}${whose}`,
    )
    if (server.status === 'connected')
      lines.push(
        `  ${server.tools.length} tool${server.tools.length === 1 ? '' : 's'}${server.tools.length ? `: ${server.tools.join(', ')}` : ''}`,
      )
  }
  return lines.join('\n')
}
