/**
 * A session's own MCP servers: the ones its settings (`createSession({ settings: { mcpServers } })`,
 * what an editor passes in ACP `session/new` or a client in `POST /sessions`) add to the global
 * ones. They connect when the session is created, their tools go into an overlay only that session
 * sees, and they close with the session. They are the client's choice, so no trust gate applies
 * (the project's `.mcp.json` stays global and trust-gated).
 */
import type { Logger, SessionInfo } from '../../kernel/index.js'
import { OverlayToolRegistry, type SessionTools, type ToolRegistry } from '../tools/index.js'
import type { McpConfig } from './config.js'
import { applyMcpPolicy, type McpServerPolicy } from './server-policy.js'
import { mergeServers, ServerSet, type ServerSetOptions } from './servers.js'
import { WorkspaceRoots } from './workspace-roots.js'

export interface SessionServers extends SessionTools {
  readonly servers: ServerSet
}

export interface SessionServersOptions {
  /** The global set's options; registry and roots are replaced per session. */
  readonly base: Omit<ServerSetOptions, 'servers' | 'registry' | 'roots'>
  readonly registry: ToolRegistry
  /** `sandbox.roots`, absolute. */
  readonly extraRoots: readonly string[]
  /** The global `mcpServers` config (validated) and the names of every global server. */
  readonly globalConfig: McpConfig
  readonly globalNames: () => readonly string[]
  readonly logger: Logger
  /** Set when a managed-mcp.json decides the servers: a session may add none (the message says why). */
  readonly policy?: string
  /** allowedMcpServers / deniedMcpServers: a session's servers pass them too. */
  readonly serverPolicy?: McpServerPolicy
}

/**
 * The servers a session's settings add. Session settings merge over the global config key by
 * key, so the merged record holds the global servers too: a server is the session's own when its
 * name is not a global one. A global name with another config is refused with a warning (a
 * session cannot change a server other sessions share); give the session's server its own name.
 */
export function ownServers(
  session: SessionInfo,
  globalConfig: McpConfig,
  globalNames: readonly string[],
  logger: Logger,
): McpConfig {
  const merged = session.overrides.mcpServers as McpConfig | undefined
  if (merged === undefined) return {}
  const own: McpConfig = {}
  for (const [name, config] of Object.entries(merged)) {
    const global = globalConfig[name]
    if (global !== undefined && JSON.stringify(global) === JSON.stringify(config)) continue
    if (global !== undefined || globalNames.includes(name)) {
      logger.warn(
        `session ${session.id}: its MCP server '${name}' is not connected: a global server has that name (give the session's server another name)`,
      )
      continue
    }
    own[name] = config
  }
  return own
}

/** The session's own servers, connecting now; undefined when it has none (no cost). */
export function sessionServers(
  session: SessionInfo,
  options: SessionServersOptions,
): SessionServers | undefined {
  const own = ownServers(session, options.globalConfig, options.globalNames(), options.logger)
  if (Object.keys(own).length === 0) return undefined
  if (options.policy !== undefined) {
    options.logger.warn(
      `the session's MCP servers ${Object.keys(own).join(', ')} not started by policy: ${options.policy}`,
    )
    return undefined
  }
  const registry = new OverlayToolRegistry(options.registry)
  const logger = options.logger.child(`session ${session.id.slice(0, 8)}`)
  const servers = new ServerSet({
    ...options.base,
    logger,
    servers: options.serverPolicy
      ? applyMcpPolicy(mergeServers({}, own, logger), options.serverPolicy, (message) => logger.warn(message))
      : mergeServers({}, own, logger),
    registry,
    // Only this session's roots: its servers serve no other session.
    roots: new WorkspaceRoots(options.extraRoots, session.cwd),
  })
  logger.info(`connecting the session's MCP servers: ${Object.keys(own).join(', ')}`)
  const started = servers.start()
  return {
    servers,
    registry,
    ready: () => started,
    close: () => servers.stop(),
  }
}
