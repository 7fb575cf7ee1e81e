/**
 * One configured MCP server: connects it (with a timeout), keeps its tools registered as tau
 * tools while it is up (connection-tools.ts), refreshes them on `notifications/tools/list_changed`,
 * answers what the server asks of tau as a client, and restarts it with backoff when it fails to
 * start or dies. Remote servers connect with OAuth through connection-remote.ts. Nothing here ever
 * throws into the kernel: a failing server is a status, not a crash.
 */
import { isAbsolute, resolve } from 'node:path'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { Logger } from '../../kernel/index.js'
import { buildProcessEnv, type EnvAllowlist } from '../sandbox/index.js'
import type { ToolContext, ToolOutput, ToolRegistry } from '../tools/index.js'
import { linkCall } from './call-signal.js'
import type { Root, Sampler } from './client-features.js'
import { MCP_DEFAULTS, type ResolvedServerConfig } from './config.js'
import { RemoteAuth } from './connection-remote.js'
import { ServerRequests } from './connection-requests.js'
import { listAllTools, ServerTools } from './connection-tools.js'
import { expandServerConfig } from './env-vars.js'
import { messageOf } from './errors.js'
import { type Authorize, isAuthRequired } from './oauth.js'
import { callRoute } from './routing.js'
import type { McpClient, McpSdk } from './sdk.js'
import { StdioTransport } from './stdio-transport.js'
import { mapResult } from './tool-adapter.js'
import type { ToolCache } from './tool-cache.js'

export type ServerStatus = 'connecting' | 'connected' | 'failed' | 'needs-auth' | 'disabled'
export type TransportKind = 'stdio' | 'http' | 'sse'

export interface ServerInfo {
  readonly name: string
  readonly transport: TransportKind
  readonly status: ServerStatus
  /** Why it failed (the last failure, while it is retried). */
  readonly error?: string
  /** tau names of its registered tools (`mcp__<server>__<tool>`). */
  readonly tools: readonly string[]
  /** Failed connection attempts since it was last connected. */
  readonly attempts: number
}

export interface ConnectionOptions {
  readonly name: string
  readonly config: ResolvedServerConfig
  readonly registry: ToolRegistry
  readonly plugin: string
  readonly logger: Logger
  readonly projectDir: string
  readonly allowlist: EnvAllowlist
  /** Where `${VAR}` values and stdio servers' variables come from (the kernel's env). */
  readonly env: NodeJS.ProcessEnv
  readonly sdk: () => Promise<McpSdk>
  readonly clientInfo: { name: string; version: string }
  /** Answered to `roots/list`: the current workspace roots. */
  readonly roots?: () => readonly Root[]
  /** Answers `sampling/createMessage` for servers whose config has `sampling` on. */
  readonly sampler?: Sampler
  /** The model the sampler answers with (shown in the confirmation). */
  readonly samplingModel?: string
  /** Called when the server connects or goes down. */
  readonly onStatus?: () => void
  /** Where OAuth credentials are kept (`$TAU_HOME/mcp-oauth`). */
  readonly oauthDir: string
  /**
   * Who shows an authorization URL to the user, asked at each connect (`tau mcp login`). Left
   * out, the session whose call is in flight is asked (routing.ts); with none, a server that needs
   * a login is `needs-auth` (fail closed).
   */
  readonly authorize?: () => Authorize | undefined
  /** Aborted when tau stops: a login in progress gives up. */
  readonly signal?: AbortSignal
  /** Retry with backoff after a failure (default true; a one-off login does not). */
  readonly retry?: boolean
  /** The tool lists of the last connections (stdio servers): start need not wait for them. */
  readonly toolCache?: ToolCache
}

const STDERR_LINES = 20

export class ServerConnection {
  readonly name: string
  private readonly options: ConnectionOptions
  private status: ServerStatus
  private error: string | undefined
  private transportKind: TransportKind
  private attempts = 0
  private client: McpClient | undefined
  /** Each connect attempt has a generation; callbacks of an older one are ignored. */
  private generation = 0
  private stopped = false
  private retryTimer: NodeJS.Timeout | undefined
  private readonly tools: ServerTools
  private readonly remote: RemoteAuth
  private refreshing: Promise<void> | undefined
  private refreshAgain = false
  private stderrTail: string[] = []
  private readonly log: Logger
  private warnedAuth = false
  /** The SDK, once a connect has loaded it. */
  private sdk: McpSdk | undefined
  /** What the server asks of tau as a client, and the calls in flight it is asked for. */
  private readonly requests: ServerRequests
  /** The first connection attempt, once started. */
  private first: Promise<void> | undefined
  /** The client of the attempt in flight (stop() closes it: its process must not outlive tau). */
  private pending: McpClient | undefined

  constructor(options: ConnectionOptions) {
    this.options = options
    this.name = options.name
    this.transportKind = options.config.transport
    this.status = options.config.disabled ? 'disabled' : 'connecting'
    this.log = options.logger
    // Each part takes what it needs of the connection's options.
    this.requests = new ServerRequests(options)
    this.tools = new ServerTools({
      ...options,
      cacheFile: () => this.toolCacheFile(),
      connected: async () => {
        await this.start()
        return this.connectedClient() !== undefined
      },
      notConnected: () => this.notConnected(),
      call: (tool, input, context) => this.call(tool, input, context),
    })
    this.remote = new RemoteAuth({ ...options, routedAuthorize: () => this.requests.routedAuthorize() })
  }

  info(): ServerInfo {
    return {
      name: this.name,
      transport: this.transportKind,
      status: this.status,
      ...(this.error === undefined ? {} : { error: this.error }),
      tools: this.tools.names(),
      attempts: this.attempts,
    }
  }

  /** Keeps the server from starting (an untrusted workspace's server): disabled, with the reason. */
  hold(reason: string): void {
    if (this.status !== 'connecting' || this.attempts > 0) return
    this.status = 'disabled'
    this.error = reason
  }

  /** The first connection attempt; resolves when connected or failed (then retried in the background). */
  start(): Promise<void> {
    if (this.status === 'disabled' || this.stopped) return Promise.resolve()
    this.first ??= this.attempt()
    return this.first
  }

  /**
   * Before start: offers the tools this stdio server listed at its last connection (the cache),
   * so that nobody need wait for it to start (connection-tools.ts). False when there are none.
   */
  useCachedTools(): boolean {
    if (this.status !== 'connecting' || this.first) return false
    return this.tools.offerCached()
  }

  /** Whether the server offers resources: connected, or (still connecting) at its last connection. */
  offersResources(): boolean {
    const client = this.connectedClient()
    if (client) return Boolean(client.getServerCapabilities()?.resources)
    return this.status === 'connecting' && this.tools.cachedResources
  }

  /** The cache file of this server's tools (stdio servers whose variables are all set). */
  private toolCacheFile(): string | undefined {
    const cache = this.options.toolCache
    if (!cache || this.config.transport !== 'stdio') return undefined
    const { value, missing } = expandServerConfig(this.config, this.options.env)
    return missing.length > 0 ? undefined : cache.file(this.name, value, this.options.projectDir)
  }

  private notConnected(): string {
    return `MCP server '${this.name}' is not connected (${this.status}${this.error ? `: ${this.error}` : ''})`
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.generation++
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.tools.unregister()
    const client = this.client
    const pending = this.pending
    this.client = undefined
    this.pending = undefined
    if (client) await client.close().catch(() => undefined)
    if (pending && pending !== client) await pending.close().catch(() => undefined)
    await this.remote.close()
  }

  /** The workspace roots changed: a connected server that was told roots hears of it. */
  announceRoots(): void {
    const client = this.connectedClient()
    if (!client || this.config.roots === false) return
    client.sendRootsListChanged().catch((error: unknown) => {
      this.log.debug(`MCP server '${this.name}': roots/list_changed not sent: ${messageOf(error)}`)
    })
  }

  /** A server waiting to retry (failed, needs-auth) tries again now: a login just finished. */
  async reconnectIfWaiting(): Promise<void> {
    if (this.stopped || (this.status !== 'failed' && this.status !== 'needs-auth')) return
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    await this.attempt()
  }

  private get config(): ResolvedServerConfig {
    return this.options.config
  }

  private async attempt(): Promise<void> {
    const generation = ++this.generation
    // A login in the browser takes longer than a handshake.
    const timeoutMs =
      this.config.transport !== 'stdio' && this.options.authorize?.()
        ? Math.max(this.config.timeoutMs ?? MCP_DEFAULTS.timeoutMs, MCP_DEFAULTS.loginTimeoutMs)
        : (this.config.timeoutMs ?? MCP_DEFAULTS.timeoutMs)
    let timer: NodeJS.Timeout | undefined
    let client: McpClient | undefined
    try {
      const connecting = this.connect(generation, (c) => {
        client = c
        this.pending = c
      })
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not connect within ${timeoutMs} ms`)), timeoutMs)
      })
      // The loser of the race must not become an unhandled rejection.
      connecting.catch(() => undefined)
      await Promise.race([connecting, timeout])
      if (generation !== this.generation) return
      this.attempts = 0
      this.error = undefined
      this.status = 'connected'
      this.options.onStatus?.()
      this.log.info(`MCP server '${this.name}' connected`, {
        server: this.name,
        transport: this.transportKind,
        tools: this.tools.count,
      })
    } catch (error) {
      const stale = generation !== this.generation || this.stopped
      const reason = isAuthRequired(error)
        ? error.message
        : this.sdk && error instanceof this.sdk.UnauthorizedError
          ? `the server did not accept tau's authorization (${messageOf(error)}); \`tau mcp logout ${this.name}\` then \`tau mcp login ${this.name}\` starts over`
          : this.reason(messageOf(error))
      // A new generation first: the close below must not count as a crash of a live connection,
      // and a connect that finishes after its timeout must not install itself.
      if (!stale) {
        this.generation++
        this.client = undefined
      }
      if (client) await client.close().catch(() => undefined)
      if (!stale) this.fail(reason, isAuthRequired(error) ? 'needs-auth' : 'failed')
    } finally {
      if (timer) clearTimeout(timer)
      if (client && this.pending === client) this.pending = undefined
    }
  }

  /** A failure reason with the server's last stderr line, which usually says why. */
  private reason(message: string): string {
    const last = this.stderrTail.at(-1)
    return last && !message.includes(last) ? `${message} (stderr: ${last})` : message
  }

  private fail(reason: string, status: 'failed' | 'needs-auth' = 'failed'): void {
    this.tools.clear()
    this.client = undefined
    this.remote.dropTransport()
    this.status = status
    this.error = reason
    this.attempts++
    if (this.options.retry === false) {
      this.options.onStatus?.()
      return
    }
    if (status === 'needs-auth') {
      // Said once at warn (the status keeps saying it); a login elsewhere is picked up at the next retry.
      if (!this.warnedAuth) this.log.warn(reason, { server: this.name })
      this.warnedAuth = true
    }
    const retry = this.config.retry ?? {}
    const base = retry.baseDelayMs ?? MCP_DEFAULTS.retryBaseDelayMs
    const max = retry.maxDelayMs ?? MCP_DEFAULTS.retryMaxDelayMs
    const delay = Math.min(max, base * 2 ** Math.min(this.attempts - 1, 20))
    if (status === 'failed') {
      this.log.warn(`MCP server '${this.name}' failed: ${reason}; retrying in ${delay} ms`, {
        server: this.name,
        attempts: this.attempts,
      })
    }
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (!this.stopped) void this.attempt()
    }, delay)
    this.retryTimer.unref()
    this.options.onStatus?.()
  }

  /** The live client, while connected. */
  connectedClient(): McpClient | undefined {
    return this.status === 'connected' ? this.client : undefined
  }

  private async connect(generation: number, onClient: (client: McpClient) => void): Promise<void> {
    const sdk = await this.options.sdk()
    // Stopped (or timed out) while the SDK loaded: no process is started for nobody.
    if (generation !== this.generation) throw new Error('stopped before it connected')
    this.sdk = sdk
    const { value: config, missing } = expandServerConfig(this.config, this.options.env)
    if (missing.length > 0) {
      throw new Error(`environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set`)
    }
    this.stderrTail = []
    let client: McpClient
    if (config.transport === 'stdio') {
      client = this.newClient(sdk, generation)
      onClient(client)
      await client.connect(this.stdioTransport(sdk, config))
    } else {
      client = await this.remote.connect(
        sdk,
        config,
        () => this.newClient(sdk, generation),
        onClient,
        (kind) => {
          this.transportKind = kind
        },
      )
    }
    if (generation !== this.generation) return
    this.client = client
    client.setNotificationHandler(sdk.ToolListChangedNotificationSchema, async () => {
      if (generation === this.generation) await this.refreshTools()
    })
    const logLevel = this.config.logLevel
    if (logLevel && client.getServerCapabilities()?.logging) {
      await client.setLoggingLevel(logLevel).catch((error: unknown) => {
        this.log.warn(`MCP server '${this.name}' refused logging/setLevel ${logLevel}: ${messageOf(error)}`)
      })
    }
    await this.loadTools(client, sdk)
  }

  private newClient(sdk: McpSdk, generation: number): McpClient {
    const client = new sdk.Client(this.options.clientInfo, { capabilities: this.requests.capabilities() })
    this.requests.install(client, sdk, () => generation === this.generation)
    client.onclose = () => {
      // Only an unexpected close of the current connection restarts it.
      if (generation !== this.generation || this.stopped || this.client !== client) return
      this.fail(this.reason('the server closed the connection'))
    }
    client.onerror = (error) => {
      if (generation === this.generation && !this.stopped) {
        this.log.debug(`MCP server '${this.name}' transport error: ${messageOf(error)}`)
      }
    }
    return client
  }

  private stdioTransport(sdk: McpSdk, config: ResolvedServerConfig & { transport: 'stdio' }): Transport {
    const cwd = config.cwd
      ? isAbsolute(config.cwd)
        ? config.cwd
        : resolve(this.options.projectDir, config.cwd)
      : this.options.projectDir
    const transport = new StdioTransport({
      server: this.name,
      command: config.command,
      args: config.args,
      cwd,
      // Under the allowlisted variables, the few the SDK's own transport always passes (PATH, HOME, ...).
      env: {
        ...sdk.getDefaultEnvironment(),
        ...buildProcessEnv(this.options.env, this.options.allowlist, config.env),
      },
      maxMessageBytes: config.maxMessageBytes ?? MCP_DEFAULTS.maxMessageBytes,
      stopGraceMs: config.stopGraceMs ?? MCP_DEFAULTS.stopGraceMs,
      validate: (value) => sdk.JSONRPCMessageSchema.parse(value),
    })
    let pending = ''
    transport.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const raw of lines) {
        const line = raw.trimEnd()
        if (line === '') continue
        this.stderrTail.push(line)
        if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift()
        this.log.debug(`[${this.name}] ${line}`, { server: this.name, stream: 'stderr' })
      }
    })
    return transport
  }

  /** Whether this process obtained tokens for the server (a login finished). */
  get didAuthorize(): boolean {
    return this.remote.didAuthorize
  }

  private async loadTools(client: McpClient, sdk: McpSdk): Promise<void> {
    const tools = await this.remote.withAuthorization(() => listAllTools(client))
    if (this.client !== client) return
    this.tools.install(tools, Boolean(client.getServerCapabilities()?.resources), sdk)
  }

  /** Re-lists the tools; list_changed notifications that arrive during a refresh cause one more. */
  async refreshTools(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true
      return this.refreshing
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false
          const client = this.client
          if (!client || this.stopped) return
          const sdk = await this.options.sdk()
          await this.loadTools(client, sdk)
          this.log.debug(`MCP server '${this.name}' tools refreshed`, { tools: this.tools.count })
        } while (this.refreshAgain)
      } catch (error) {
        this.log.warn(`MCP server '${this.name}': refreshing its tools failed: ${messageOf(error)}`)
      } finally {
        this.refreshing = undefined
      }
    })()
    return this.refreshing
  }

  private async call(tool: string, input: unknown, context: ToolContext): Promise<ToolOutput> {
    // A tool offered from the cache, called before the server is up: its first attempt decides.
    if (this.status === 'connecting') await this.start()
    const client = this.client
    const sdk = this.sdk
    if (!client || !sdk || this.status !== 'connected') throw new Error(this.notConnected())
    const timeoutMs = this.config.toolTimeoutMs ?? MCP_DEFAULTS.toolTimeoutMs
    const call = linkCall(context.signal)
    // tau's own progress token and handler (see call-signal.ts: cheaper than the SDK's onprogress).
    const progressToken = this.requests.progress.open(callRoute(context))
    const params = {
      name: tool,
      arguments: input as Record<string, unknown>,
      _meta: { progressToken },
    }
    const options = { signal: call.asAbortSignal(), timeout: timeoutMs }
    const request = () => client.callTool(params, undefined, options)
    try {
      // Only an OAuth server can start an authorization mid-call: the others skip that frame.
      const result = this.remote.usesOAuth ? await this.remote.withAuthorization(request) : await request()
      return mapResult(result as Record<string, unknown>)
    } catch (error) {
      if (context.signal.aborted) throw error
      if (error instanceof sdk.McpError) {
        if (error.code === sdk.ErrorCode.RequestTimeout) {
          throw new Error(`MCP tool '${tool}' of '${this.name}' timed out after ${timeoutMs} ms`)
        }
        if (error.code === sdk.ErrorCode.ConnectionClosed) {
          throw new Error(this.reason(`MCP server '${this.name}' closed the connection during the call`))
        }
      }
      throw error
    } finally {
      call.release()
      this.requests.progress.close(progressToken)
    }
  }
}
