/**
 * The editor's MCP servers (ACP `session/new` / `session/load` `mcpServers`) as the session's
 * own `mcpServers` settings, in the mcp plugin's config shape: stdio with its env as a record
 * (run in the session's cwd), http and sse with their headers. They are the editor's explicit
 * choice for this session, so no workspace trust gate applies (the mcp plugin's session servers).
 */
import type { McpServer } from '@agentclientprotocol/sdk'

/** A server name the mcp config takes (no whitespace); the editor's display names may have spaces. */
function serverName(name: string): string {
  const cleaned = name.trim().replace(/\s+/g, '_')
  return cleaned === '' ? 'editor' : cleaned
}

const record = (pairs: ReadonlyArray<{ name: string; value: string }>): Record<string, string> =>
  Object.fromEntries(pairs.map((pair) => [pair.name, pair.value]))

export function editorMcpSettings(servers: readonly McpServer[], cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const server of servers) {
    let name = serverName(server.name)
    for (let n = 2; name in out; n++) name = `${serverName(server.name)}_${n}`
    if ('type' in server && (server.type === 'http' || server.type === 'sse')) {
      out[name] = { type: server.type, url: server.url, headers: record(server.headers ?? []) }
    } else if ('command' in server) {
      out[name] = { command: server.command, args: server.args ?? [], env: record(server.env ?? []), cwd }
    }
  }
  return out
}
