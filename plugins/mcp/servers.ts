/**
 * The servers of a kernel: merges `.mcp.json` with the `mcpServers` config (config wins per
 * server), connects every enabled server in parallel at start, and answers `list()`.
 */
import type { Logger } from '../../kernel/index.js'
import type { EnvAllowlist } from '../sandbox/index.js'
import type { ToolRegistry } from '../tools/index.js'
import type { Sampler } from './client-features.js'
import { isStdio, type McpConfig, type ResolvedServerConfig } from './config.js'
import { type ConnectionOptions, ServerConnection, type ServerInfo } from './connection.js'
import { messageOf } from './errors.js'
import type { Authorize } from './oauth.js'
import { OAuthStore } from './oauth-store.js'
import {
  listAllPages,
  type PromptEntry,
  type PromptMessages,
  promptCommand,
  promptContent,
  type ResourceContents,
  type ResourceEntry,
  type ResourceListing,
  type ResourceSource,
  type ResourceTemplateEntry,
  resourceTools,
} from './resources.js'
import { loadSdk, type McpClient, type McpSdk } from './sdk.js'
import type { ToolCache } from './tool-cache.js'
import type { WorkspaceRoots } from './workspace-roots.js'

/** The `mcp.servers` service. */
export interface McpServers {
  /** Every configured server, in config order, with its transport, status and tools. */
  list(): ServerInfo[]
  get(name: string): ServerInfo | undefined
  /** Resolves when the first connection attempt of every enabled server has finished. */
  whenStarted(): Promise<void>
  /** Re-lists one server's tools now (what list_changed does). */
  refresh(name: string): Promise<void>
  /** Resources and resource templates of the connected servers (or of one), every page. */
  listResources(server?: string): Promise<ResourceListing>
  /** resources/read on one server. */
  readResource(server: string, uri: string): Promise<ResourceContents>
  /** Prompts of the connected servers, every page; each with the slash command it stands for. */
  prompts(): Promise<PromptEntry[]>
  /** prompts/get: the prompt's messages, its content mapped to tau parts. */
  getPrompt(
    server: string,
    name: string,
    args?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<PromptMessages>
  /**
   * OAuth login to a remote server: a fresh authorization through `authorize` (which shows the
   * URL), the code back on a loopback callback, tokens stored 0600 under `$TAU_HOME/mcp-oauth`.
   */
  login(name: string, authorize: Authorize, signal?: AbortSignal): Promise<LoginResult>
  /** Forgets a server's stored OAuth tokens and client registration. */
  logout(name: string): { server: string; removed: boolean; file: string }
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
  /** The open sessions' workspace roots, told to servers (and announced when they change). */
  readonly roots?: WorkspaceRoots
  readonly sampler?: Sampler
  readonly samplingModel?: string
  /** `$TAU_HOME/mcp-oauth`. */
  readonly oauthDir: string
  /** Who shows authorization URLs in the running agent (a frontend); none: fail closed. */
  readonly authorize?: () => Authorize | undefined
  readonly signal?: AbortSignal
  /**
   * What the resource tools list and read for the calling session (the global servers and that
   * session's own); default: this set.
   */
  readonly resourceSource?: (sessionId: string) => ResourceSource
  /** The stdio servers' tool lists from their last connections (`$TAU_HOME/cache/mcp-tools`). */
  readonly toolCache?: ToolCache
}

export interface LoginResult {
  readonly server: string
  /** False when the server connected without asking for authorization. */
  readonly authorized: boolean
  /** Where the credentials are kept. */
  readonly file: string
}

/** A registry that keeps nothing: the one-off login connection's tools go nowhere. */
const detachedRegistry = {
  register: () => () => undefined,
} as unknown as ToolRegistry

export class ServerSet implements McpServers, ResourceSource {
  private readonly connections: ServerConnection[]
  private started: Promise<void> | undefined
  private ready: Promise<void> | undefined
  /** Servers offered from the cache whose connection waits for connectDeferred() (or a use). */
  private deferred: ServerConnection[] = []
  private readonly options: ServerSetOptions
  private resourceToolsOff: Array<() => void> = []
  private readonly rootsOff: (() => void) | undefined

  constructor(options: ServerSetOptions) {
    this.options = options
    this.connections = Object.entries(options.servers).map(
      ([name, config]) =>
        new ServerConnection({
          ...this.connectionOptions(name, config),
          onStatus: () => this.updateResourceTools(),
        }),
    )
    this.rootsOff = options.roots?.onChange(() => {
      for (const connection of this.connections) connection.announceRoots()
    })
  }

  private connectionOptions(name: string, config: ResolvedServerConfig): ConnectionOptions {
    const { options } = this
    return {
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
      oauthDir: options.oauthDir,
      ...(options.roots ? { roots: () => options.roots!.current() } : {}),
      ...(options.sampler ? { sampler: options.sampler } : {}),
      ...(options.samplingModel ? { samplingModel: options.samplingModel } : {}),
      ...(options.authorize ? { authorize: options.authorize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.toolCache ? { toolCache: options.toolCache } : {}),
    }
  }

  /** The config of a remote server by name, or an error that says why there is none. */
  private remoteConfig(name: string): ResolvedServerConfig & { transport: 'http' | 'sse' } {
    const config = this.options.servers[name]
    if (!config) {
      const names = Object.keys(this.options.servers)
      throw new Error(`there is no MCP server '${name}' (servers: ${names.join(', ') || 'none'})`)
    }
    if (config.transport === 'stdio')
      throw new Error(`MCP server '${name}' is a stdio server; OAuth is for http and sse servers`)
    if (config.oauth === false) throw new Error(`MCP server '${name}' has \`oauth: false\` in its config`)
    return config
  }

  async login(name: string, authorize: Authorize, signal?: AbortSignal): Promise<LoginResult> {
    const config = this.remoteConfig(name)
    const store = new OAuthStore(this.options.oauthDir, name, config.url)
    // A login is a fresh authorization: old tokens go, the client registration stays.
    if (store.read()?.tokens) store.update(({ tokens: _tokens, savedAt: _savedAt, ...rest }) => rest)
    const once = new ServerConnection({
      ...this.connectionOptions(name, { ...config, disabled: false }),
      // Its tools are not added: the running set connects the server itself.
      registry: detachedRegistry,
      authorize: () => authorize,
      retry: false,
      ...(signal ? { signal } : {}),
    })
    try {
      await once.start()
      const info = once.info()
      if (info.status !== 'connected') throw new Error(info.error ?? `MCP server '${name}' did not connect`)
      store.reload()
      return { server: name, authorized: once.didAuthorize, file: store.file }
    } finally {
      await once.stop()
      // The running connection (if any) picks the new tokens up now, not at its next retry.
      await this.connections.find((c) => c.name === name)?.reconnectIfWaiting()
    }
  }

  logout(name: string): { server: string; removed: boolean; file: string } {
    const config = this.remoteConfig(name)
    const store = new OAuthStore(this.options.oauthDir, name, config.url)
    return { server: name, removed: store.remove(), file: store.file }
  }

  /** Keeps these servers from starting, saying why (before start()). */
  hold(names: readonly string[], reason: string): void {
    for (const connection of this.connections) if (names.includes(connection.name)) connection.hold(reason)
  }

  /**
   * Connects every enabled server at once; never rejects (failures are statuses). Resolves when
   * the first attempt of each server without cached tools has finished: a server whose tools
   * are known from its last connection is offered with them at once and connects meanwhile
   * (whenStarted() waits for every server).
   */
  start(options: { deferCached?: boolean } = {}): Promise<void> {
    if (!this.ready) {
      const cached = this.connections.filter((c) => c.useCachedTools())
      this.updateResourceTools()
      const waited = this.connections.filter((c) => !cached.includes(c))
      this.ready = Promise.all(waited.map((c) => c.start())).then(() => undefined)
      if (options.deferCached) this.deferred = cached
      else for (const connection of cached) void connection.start()
    }
    return this.ready
  }

  /**
   * Starts connecting the servers start({ deferCached }) left for later: the agent calls it as
   * its first model call goes out, so the SDK's import and the server's start do not hold up
   * that call (a call of one of their tools starts its server at once).
   */
  connectDeferred(): void {
    for (const connection of this.deferred.splice(0)) void connection.start()
  }

  /** Whether connectDeferred() has servers to connect. */
  hasDeferred(): boolean {
    return this.deferred.length > 0
  }

  async stop(): Promise<void> {
    this.rootsOff?.()
    await Promise.all(this.connections.map((c) => c.stop()))
    for (const off of this.resourceToolsOff.splice(0)) off()
  }

  /** The resource tools are in the registry while at least one connected server offers resources. */
  private updateResourceTools(): void {
    const offered = this.connections.some((c) => c.offersResources())
    if (offered && this.resourceToolsOff.length === 0) {
      for (const tool of resourceTools(this.options.resourceSource ?? this)) {
        // A session's set over a registry that has them already: those list this session's too.
        if (this.options.resourceSource && this.options.registry.get(tool.name)) continue
        try {
          this.resourceToolsOff.push(this.options.registry.register(tool, this.options.plugin))
        } catch (error) {
          this.options.logger.warn(`the MCP tool ${tool.name} is not added: ${messageOf(error)}`)
        }
      }
    } else if (!offered) {
      for (const off of this.resourceToolsOff.splice(0)) off()
    }
  }

  /** The connected client of a server that offers `feature`, or an error that says why not. */
  private clientFor(server: string, feature: 'resources' | 'prompts'): McpClient {
    const connection = this.connections.find((c) => c.name === server)
    if (!connection) {
      const names = this.connections.map((c) => c.name)
      throw new Error(`there is no MCP server '${server}' (servers: ${names.join(', ') || 'none'})`)
    }
    const client = connection.connectedClient()
    if (!client) {
      const info = connection.info()
      throw new Error(
        `MCP server '${server}' is not connected (${info.status}${info.error ? `: ${info.error}` : ''})`,
      )
    }
    if (!client.getServerCapabilities()?.[feature])
      throw new Error(`MCP server '${server}' offers no ${feature}`)
    return client
  }

  /** Connected servers that offer `feature` (or the one named, which must). */
  private clientsWith(feature: 'resources' | 'prompts', server?: string): Array<[string, McpClient]> {
    if (server !== undefined) return [[server, this.clientFor(server, feature)]]
    const out: Array<[string, McpClient]> = []
    for (const connection of this.connections) {
      const client = connection.connectedClient()
      if (client?.getServerCapabilities()?.[feature]) out.push([connection.name, client])
    }
    return out
  }

  async listResources(server?: string): Promise<ResourceListing> {
    await this.whenStarted()
    const listing: ResourceListing = { resources: [], resourceTemplates: [], errors: [] }
    await Promise.all(
      this.clientsWith('resources', server).map(async ([name, client]) => {
        try {
          const [resources, templates] = await Promise.all([
            listAllPages('resources/list', async (cursor) => {
              const page = await client.listResources(cursor === undefined ? {} : { cursor })
              return { items: page.resources, nextCursor: page.nextCursor }
            }),
            listAllPages('resources/templates/list', async (cursor) => {
              const page = await client.listResourceTemplates(cursor === undefined ? {} : { cursor })
              return { items: page.resourceTemplates, nextCursor: page.nextCursor }
            }).catch(() => []),
          ])
          for (const r of resources) listing.resources.push(withServer(name, r) as unknown as ResourceEntry)
          for (const t of templates)
            listing.resourceTemplates.push(withServer(name, t) as unknown as ResourceTemplateEntry)
        } catch (error) {
          listing.errors.push({ server: name, error: messageOf(error) })
        }
      }),
    )
    const order = this.connections.map((c) => c.name)
    const byServer = (a: { server: string }, b: { server: string }) =>
      order.indexOf(a.server) - order.indexOf(b.server)
    listing.resources.sort(byServer)
    listing.resourceTemplates.sort(byServer)
    return listing
  }

  async readResource(server: string, uri: string): Promise<ResourceContents> {
    await this.whenStarted()
    const client = this.clientFor(server, 'resources')
    const result = await client.readResource({ uri })
    return {
      server,
      uri,
      contents: result.contents.map((c) => ({
        uri: c.uri,
        ...(c.mimeType ? { mimeType: c.mimeType } : {}),
        ...('text' in c && typeof c.text === 'string' ? { text: c.text } : {}),
        ...('blob' in c && typeof c.blob === 'string' ? { blob: c.blob } : {}),
      })),
    }
  }

  async prompts(): Promise<PromptEntry[]> {
    const perServer = await Promise.all(
      this.clientsWith('prompts').map(async ([server, client]) => {
        try {
          const prompts = await listAllPages('prompts/list', async (cursor) => {
            const page = await client.listPrompts(cursor === undefined ? {} : { cursor })
            return { items: page.prompts, nextCursor: page.nextCursor }
          })
          return prompts.map(
            (p): PromptEntry => ({
              server,
              name: p.name,
              ...(p.title ? { title: p.title } : {}),
              ...(p.description ? { description: p.description } : {}),
              arguments: (p.arguments ?? []).map((a) => ({
                name: a.name,
                ...(a.description ? { description: a.description } : {}),
                ...(a.required === undefined ? {} : { required: a.required }),
              })),
              command: promptCommand(server, p.name),
            }),
          )
        } catch (error) {
          this.options.logger.warn(`MCP server '${server}': listing its prompts failed: ${messageOf(error)}`)
          return []
        }
      }),
    )
    return perServer.flat()
  }

  async getPrompt(
    server: string,
    name: string,
    args: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<PromptMessages> {
    await this.whenStarted()
    const client = this.clientFor(server, 'prompts')
    const result = await client.getPrompt({ name, arguments: args }, signal ? { signal } : undefined)
    return {
      ...(result.description ? { description: result.description } : {}),
      messages: result.messages.map((m) => ({ role: m.role, content: promptContent(m.content) })),
    }
  }

  list(): ServerInfo[] {
    return this.connections.map((c) => c.info())
  }

  get(name: string): ServerInfo | undefined {
    return this.connections.find((c) => c.name === name)?.info()
  }

  whenStarted(): Promise<void> {
    if (!this.ready) return Promise.resolve()
    this.connectDeferred()
    this.started ??= Promise.all(this.connections.map((c) => c.start())).then(() => undefined)
    return this.started
  }

  async refresh(name: string): Promise<void> {
    await this.connections.find((c) => c.name === name)?.refreshTools()
  }
}

function withServer(server: string, entry: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { server }
  for (const key of ['uri', 'uriTemplate', 'name', 'title', 'description', 'mimeType', 'size']) {
    if (entry[key] !== undefined) out[key] = entry[key]
  }
  return out
}
