/**
 * The servers of a kernel: merges `.mcp.json` with the `mcpServers` config (config wins per
 * server), connects every enabled server in parallel at start, and answers `list()`.
 */
import type { Logger } from '../../kernel/index.js'
import type { EnvAllowlist } from '../sandbox/env-allowlist.js'
import type { ToolRegistry } from '../tools/tool.js'
import { isStdio, type McpConfig, type ResolvedServerConfig } from './config.js'
import { ServerConnection, type ServerInfo } from './connection.js'
import { loadSdk, type McpSdk } from './sdk.js'

/** The `mcp.servers` service. */
export interface McpServers {
  /** Every configured server, in config order, with its transport, status and tools. */
  list(): ServerInfo[]
  get(name: string): ServerInfo | undefined
  /** Resolves when the first connection attempt of every enabled server has finished. */
  whenStarted(): Promise<void>
  /** Re-lists one server's tools now (what list_changed does). */
  refresh(name: string): Promise<void>
}

/** `.mcp.json` servers, then config servers over them by name; `{ disabled: true }` alone switches one off. */
export function mergeServers(
  fromFile: McpConfig,
  fromConfig: McpConfig,
  logger: Logger,
): Record<string, ResolvedServerConfig> {
  const merged: Record<string, ResolvedServerConfig> = {}
  const resolveOne = (config: McpConfig[string]): ResolvedServerConfig | undefined => {
    if (isStdio(config)) return { ...config, transport: 'stdio' }
    if ('url' in config) return { ...config, transport: config.type ?? 'http' }
    return undefined
  }
  for (const [name, config] of Object.entries(fromFile)) {
    const resolved = resolveOne(config)
    if (resolved) merged[name] = resolved
  }
  for (const [name, config] of Object.entries(fromConfig)) {
    const resolved = resolveOne(config)
    if (resolved) merged[name] = resolved
    else if (merged[name]) merged[name] = { ...merged[name], disabled: true }
    else logger.warn(`mcpServers.${name}: { disabled: true } names no server of .mcp.json`)
  }
  return merged
}

export interface ServerSetOptions {
  readonly servers: Record<string, ResolvedServerConfig>
  readonly registry: ToolRegistry
  readonly plugin: string
  readonly logger: Logger
  readonly projectDir: string
  readonly allowlist: EnvAllowlist
  readonly env: NodeJS.ProcessEnv
  readonly clientInfo: { name: string; version: string }
  readonly sdk?: () => Promise<McpSdk>
}

export class ServerSet implements McpServers {
  private readonly connections: ServerConnection[]
  private started: Promise<void> | undefined

  constructor(options: ServerSetOptions) {
    this.connections = Object.entries(options.servers).map(
      ([name, config]) =>
        new ServerConnection({
          name,
          config,
          registry: options.registry,
          plugin: options.plugin,
          logger: options.logger,
          projectDir: options.projectDir,
          allowlist: options.allowlist,
          env: options.env,
          sdk: options.sdk ?? loadSdk,
          clientInfo: options.clientInfo,
        }),
    )
  }

  /** Connects every enabled server at once; never rejects (failures are statuses). */
  start(): Promise<void> {
    this.started ??= Promise.all(this.connections.map((c) => c.start())).then(() => undefined)
    return this.started
  }

  async stop(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.stop()))
  }

  list(): ServerInfo[] {
    return this.connections.map((c) => c.info())
  }

  get(name: string): ServerInfo | undefined {
    return this.connections.find((c) => c.name === name)?.info()
  }

  whenStarted(): Promise<void> {
    return this.started ?? Promise.resolve()
  }

  async refresh(name: string): Promise<void> {
    await this.connections.find((c) => c.name === name)?.refreshTools()
  }
}
