/**
 * One configured MCP server: connects it (with a timeout), lists its tools (all pages), keeps
 * them registered as tau tools while it is up, refreshes them on `notifications/tools/list_changed`,
 * and restarts it with backoff when it fails to start or dies. Nothing here ever throws into the
 * kernel: a failing server is a status, not a crash.
 */
import { isAbsolute, resolve } from 'node:path'
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from '../../kernel/index.js'
import { NOBODY_TO_ASK } from '../agent/index.js'
import { buildProcessEnv, type EnvAllowlist } from '../sandbox/index.js'
import type { Tool, ToolContext, ToolRegistry } from '../tools/index.js'
import { linkCall, ProgressRoutes } from './call-signal.js'
import {
  applyFormDefaults,
  clientCapabilities,
  logServerMessage,
  type Root,
  type Sampler,
  type SamplingDecision,
  samplingConfirmation,
  toElicitationRequest,
  toElicitResult,
} from './client-features.js'
import { MCP_DEFAULTS, type ResolvedServerConfig } from './config.js'
import { expandServerConfig } from './env-vars.js'
import { messageOf } from './errors.js'
import { type Authorize, isAuthRequired, TauOAuthProvider } from './oauth.js'
import { OAuthStore } from './oauth-store.js'
import { askerOf, type CallRoute, callRoute } from './routing.js'
import { loadAuthExtensions, type McpClient, type McpSdk } from './sdk.js'
import { StdioTransport } from './stdio-transport.js'
import {
  inputSchemaFor,
  type JsonValidator,
  mapAnnotations,
  mapResult,
  modelSchema,
  toolName,
} from './tool-adapter.js'
import { type CachedTools, cachedInput, type ToolCache } from './tool-cache.js'

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
  /** Where `${VAR}` values come from (process.env). */
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
  private registered: Array<{ name: string; unregister: () => void }> = []
  private refreshing: Promise<void> | undefined
  private refreshAgain = false
  private stderrTail: string[] = []
  private readonly log: Logger
  /** The OAuth provider of the current remote connection, when the server uses OAuth. */
  private oauth: OAuthClientProvider | undefined
  private transport: Transport | undefined
  /** True once tokens were obtained in this process (a login happened). */
  private authorized = false
  private warnedAuth = false
  /** The SDK, once a connect has loaded it. */
  private sdk: McpSdk | undefined
  /** The calls in flight (progress callback, session), by the progress token tau gave each. */
  private readonly progress = new ProgressRoutes<CallRoute>()
  /** Sessions whose user answered allow-always to a sampling request of this server. */
  private readonly samplingAllowed = new Set<string>()
  /** The first connection attempt, once started. */
  private first: Promise<void> | undefined
  /** What the cache offered at start, until the first tools/list answers. */
  private cached: CachedTools | undefined
  /** The input schemas of the listed tools, by MCP name (what tools offered from the cache check with). */
  private readonly liveInputs = new Map<string, Tool['input']>()
  /** The client of the attempt in flight (stop() closes it: its process must not outlive tau). */
  private pending: McpClient | undefined

  constructor(options: ConnectionOptions) {
    this.options = options
    this.name = options.name
    this.transportKind = options.config.transport
    this.status = options.config.disabled ? 'disabled' : 'connecting'
    this.log = options.logger
  }

  info(): ServerInfo {
    return {
      name: this.name,
      transport: this.transportKind,
      status: this.status,
      ...(this.error === undefined ? {} : { error: this.error }),
      tools: this.registered.map((t) => t.name),
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
   * so that nobody need wait for it to start; a call of one waits for the connection, and the
   * connection replaces them with what the server lists now. False when there are none.
   */
  useCachedTools(): boolean {
    if (this.status !== 'connecting' || this.first || this.registered.length > 0) return false
    const file = this.toolCacheFile()
    const cached = file ? this.options.toolCache?.read(file, this.name) : undefined
    if (!cached || cached.tools.length === 0) return false
    this.cached = cached
    for (const mcpTool of cached.tools) {
      if (mcpTool.execution?.taskSupport === 'required') continue // as loadTools: not offered
      const tool: Tool = this.adapt(
        mcpTool,
        cachedInput(async () => {
          await this.start()
          const input = this.connectedClient() ? this.liveInputs.get(mcpTool.name) : undefined
          if (input) return input
          return this.connectedClient()
            ? `the MCP server '${this.name}' no longer offers the tool '${mcpTool.name}'`
            : this.notConnected()
        }),
      )
      this.registerTool(tool, mcpTool.name)
    }
    this.log.debug(`MCP server '${this.name}': ${cached.tools.length} tools from its last connection`, {
      server: this.name,
    })
    return true
  }

  /** Whether the server offers resources: connected, or (still connecting) at its last connection. */
  offersResources(): boolean {
    const client = this.connectedClient()
    if (client) return Boolean(client.getServerCapabilities()?.resources)
    return this.status === 'connecting' && this.cached?.resources === true
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
    this.unregisterTools()
    const client = this.client
    const pending = this.pending
    this.client = undefined
    this.pending = undefined
    if (client) await client.close().catch(() => undefined)
    if (pending && pending !== client) await pending.close().catch(() => undefined)
    await this.closeOAuthCallback()
  }

  /**
   * `sampling: true | 'ask'`: the user confirms each request through the frontend (headless:
   * denied, fail closed); `allow-always` stops asking for this server. `'allow'`: no question.
   * A refusal is the specification's user-rejection error, -1.
   */
  private async confirmSampling(
    sdk: McpSdk,
    params: Parameters<Sampler>[1],
    signal: AbortSignal,
  ): Promise<void> {
    if (this.config.sampling === 'allow') return
    const asker = askerOf(this.name, this.progress.current)
    if ('sessionId' in asker && this.samplingAllowed.has(asker.sessionId)) return
    const decision: SamplingDecision =
      'refusal' in asker
        ? { action: 'deny', reason: asker.refusal }
        : asker.interaction
          ? await asker.interaction.confirmSampling(
              samplingConfirmation(this.name, this.options.samplingModel ?? '', params),
              signal,
            )
          : { action: 'deny', reason: NOBODY_TO_ASK }
    if (decision.action === 'allow-always' && 'sessionId' in asker) this.samplingAllowed.add(asker.sessionId)
    if (decision.action === 'deny') {
      this.log.info(
        `MCP server '${this.name}': sampling request denied${decision.reason ? ` (${decision.reason})` : ''}`,
        {
          server: this.name,
        },
      )
      throw new sdk.McpError(
        -1,
        `the user declined the sampling request${decision.reason ? `: ${decision.reason}` : ''}`,
      )
    }
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
        tools: this.registered.length,
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
    this.unregisterTools()
    this.cached = undefined
    this.client = undefined
    this.transport = undefined
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
      client = await this.connectRemote(sdk, config, generation, onClient)
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
    const sampling = this.config.sampling !== undefined && this.config.sampling !== false
    const declareRoots = this.config.roots !== false
    const client = new sdk.Client(this.options.clientInfo, {
      capabilities: clientCapabilities({ sampling, roots: declareRoots }),
    })
    if (declareRoots) {
      client.setRequestHandler(sdk.ListRootsRequestSchema, async () => ({
        roots: (this.options.roots?.() ?? []).map((root) => ({ ...root })),
      }))
    }
    // Progress of tools/call goes to the call that asked for it (tau's tokens, see call()).
    client.setNotificationHandler(sdk.ProgressNotificationSchema, (notification) => {
      const { progressToken, progress, total, message } = notification.params
      const route = this.progress.get(progressToken)
      if (!route) return
      route.progress(message ?? `${progress}${total === undefined ? '' : `/${total}`}`, {
        progress,
        ...(total === undefined ? {} : { total }),
      })
    })
    client.setNotificationHandler(sdk.LoggingMessageNotificationSchema, async (notification) => {
      if (generation === this.generation) logServerMessage(this.log, this.name, notification.params)
    })
    client.setRequestHandler(sdk.ElicitRequestSchema, async (request, extra) => {
      const asked = toElicitationRequest(this.name, request.params)
      const asker = askerOf(this.name, this.progress.current)
      if ('refusal' in asker || !asker.interaction) {
        if ('refusal' in asker)
          this.log.info(`MCP server '${this.name}': elicitation declined: ${asker.refusal}`)
        return { action: 'decline' as const }
      }
      const answer = toElicitResult(await asker.interaction.elicit(asked, extra.signal))
      if (asked.mode === 'form' && answer.action === 'accept') {
        // Fields the user left out take the schema's defaults (SEP-1034); then the SDK checks
        // the answer's shape, not its content: it must match the schema.
        const content = applyFormDefaults(asked.requestedSchema, answer.content)
        const check = new sdk.AjvJsonSchemaValidator().getValidator(
          asked.requestedSchema as Parameters<
            InstanceType<typeof sdk.AjvJsonSchemaValidator>['getValidator']
          >[0],
        )(content)
        if (!check.valid) {
          throw new sdk.McpError(
            sdk.ErrorCode.InvalidParams,
            `the answer does not match the requested schema: ${check.errorMessage ?? 'invalid'}`,
          )
        }
        return { action: 'accept' as const, content: content as typeof answer.content }
      }
      return answer
    })
    if (sampling) {
      // Declared only for servers whose config allows it; others get "method not found".
      client.setRequestHandler(sdk.CreateMessageRequestSchema, async (request, extra) => {
        const sampler = this.options.sampler
        if (!sampler) throw new sdk.McpError(sdk.ErrorCode.InvalidRequest, 'tau has no model to sample with')
        await this.confirmSampling(sdk, request.params, extra.signal)
        this.log.info(`MCP server '${this.name}' asks tau's model for a completion (sampling)`, {
          server: this.name,
        })
        try {
          return await sampler(this.name, request.params, extra.signal)
        } catch (error) {
          throw new sdk.McpError(sdk.ErrorCode.InternalError, messageOf(error))
        }
      })
    }
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

  /**
   * Streamable HTTP (or SSE), with OAuth when the server asks for it. A 4xx other than 401/403
   * to the initialize POST is the specification's sign of an older server: SSE at the same URL.
   */
  private async connectRemote(
    sdk: McpSdk,
    config: RemoteConfig,
    generation: number,
    onClient: (client: McpClient) => void,
  ): Promise<McpClient> {
    // An interactive provider keeps its loopback callback while its connection lives (a step-up
    // during a call needs it); the previous connection's goes now.
    await this.closeOAuthCallback()
    const oauth = await this.oauthProvider(config)
    this.oauth = oauth
    if (oauth instanceof TauOAuthProvider) {
      await oauth.prepare()
      if (oauth.shouldRefresh()) await this.refreshTokens(sdk, config, oauth)
    }
    if (config.transport === 'sse') {
      this.transportKind = 'sse'
      return this.connectOver('sse', sdk, config, generation, onClient)
    }
    this.transportKind = 'http'
    try {
      return await this.connectOver('http', sdk, config, generation, onClient)
    } catch (error) {
      if (!(error instanceof sdk.StreamableHTTPError) || !isOlderServerAnswer(error.code)) throw error
      this.log.debug(`MCP server '${this.name}': streamable HTTP answered ${error.code}, trying SSE`)
      this.transportKind = 'sse'
      return this.connectOver('sse', sdk, config, generation, onClient)
    }
  }

  /** One connect over `kind`; when it started an authorization, finishes it and connects again. */
  private async connectOver(
    kind: 'http' | 'sse',
    sdk: McpSdk,
    config: RemoteConfig,
    generation: number,
    onClient: (client: McpClient) => void,
  ): Promise<McpClient> {
    const client = this.newClient(sdk, generation)
    onClient(client)
    const transport = this.remoteTransport(kind, sdk, config)
    try {
      await client.connect(transport)
      this.transport = transport
      return client
    } catch (error) {
      const code = this.oauth instanceof TauOAuthProvider ? this.oauth.takePendingCode() : undefined
      if (!code) throw error
      await client.close().catch(() => undefined)
      await (transport as AuthTransport).finishAuth(await code)
      this.authorized = true
      const again = this.newClient(sdk, generation)
      onClient(again)
      const next = this.remoteTransport(kind, sdk, config)
      await again.connect(next)
      this.transport = next
      return again
    }
  }

  /**
   * Runs a request; when it started an authorization (a 401 on a request the server protects
   * more than initialize, or a 403 insufficient_scope step-up), finishes that authorization
   * with the code the callback brought and runs the request once more.
   */
  private async withAuthorization<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request()
    } catch (error) {
      const code = this.oauth instanceof TauOAuthProvider ? this.oauth.takePendingCode() : undefined
      if (!code || !this.transport) throw error
      await (this.transport as AuthTransport).finishAuth(await code)
      this.authorized = true
      return await request()
    }
  }

  private remoteTransport(kind: 'http' | 'sse', sdk: McpSdk, config: RemoteConfig): Transport {
    const options = {
      requestInit: { headers: config.headers },
      ...(this.oauth ? { authProvider: this.oauth } : {}),
    }
    return kind === 'http'
      ? new sdk.StreamableHTTPClientTransport(new URL(config.url), options)
      : new sdk.SSEClientTransport(new URL(config.url), options)
  }

  /**
   * The server's OAuth provider: none with `oauth: false` or a static Authorization header;
   * the SDK's client_credentials providers for `grant: 'client_credentials'`; else tau's,
   * interactive when someone can show the user an authorization URL.
   */
  private async oauthProvider(config: RemoteConfig): Promise<OAuthClientProvider | undefined> {
    const oauth = config.oauth
    if (oauth === false) return undefined
    if (oauth === undefined && Object.keys(config.headers).some((h) => h.toLowerCase() === 'authorization'))
      return undefined
    const settings = oauth ?? {}
    if (settings.grant === 'client_credentials') {
      if (!settings.clientId) throw new Error('oauth.grant client_credentials needs oauth.clientId')
      const extensions = await loadAuthExtensions()
      if (settings.privateKey) {
        return new extensions.PrivateKeyJwtProvider({
          clientId: settings.clientId,
          privateKey: settings.privateKey,
          algorithm: settings.algorithm ?? 'ES256',
          clientName: this.options.clientInfo.name,
        })
      }
      if (!settings.clientSecret)
        throw new Error('oauth.grant client_credentials needs oauth.clientSecret or oauth.privateKey')
      return new extensions.ClientCredentialsProvider({
        clientId: settings.clientId,
        clientSecret: settings.clientSecret,
        clientName: this.options.clientInfo.name,
        ...(settings.scope ? { scope: settings.scope } : {}),
      })
    }
    const fixed = this.options.authorize?.()
    const routed = () => this.routedAuthorize()
    return new TauOAuthProvider({
      server: this.name,
      store: new OAuthStore(this.options.oauthDir, this.name, config.url),
      config: settings,
      clientName: this.options.clientInfo.name,
      // Read when the server asks, not now: a step-up during a call goes to that call's session.
      get authorize() {
        return fixed ?? routed()
      },
      signal: this.options.signal ?? new AbortController().signal,
      loginTimeoutMs: MCP_DEFAULTS.loginTimeoutMs,
    })
  }

  /** The login of the session whose call is in flight, when it can show one. */
  private routedAuthorize(): Authorize | undefined {
    const asker = askerOf(this.name, this.progress.current)
    const interaction = 'refusal' in asker ? undefined : asker.interaction
    return interaction?.canAuthorize ? (request, signal) => interaction.authorize(request, signal) : undefined
  }

  /** Expired tokens with a refresh token are refreshed before the connect (else the 401 path does it). */
  private async refreshTokens(sdk: McpSdk, config: RemoteConfig, oauth: TauOAuthProvider): Promise<void> {
    try {
      await sdk.auth(oauth, { serverUrl: config.url })
      this.log.debug(`MCP server '${this.name}': OAuth tokens refreshed`)
    } catch (error) {
      if (isAuthRequired(error)) throw error
      // The connect's own 401 handling tries again and reports what is wrong.
      this.log.debug(`MCP server '${this.name}': refreshing OAuth tokens failed: ${messageOf(error)}`)
    }
  }

  private async closeOAuthCallback(): Promise<void> {
    if (this.oauth instanceof TauOAuthProvider) await this.oauth.close().catch(() => undefined)
  }

  /** Whether this process obtained tokens for the server (a login finished). */
  get didAuthorize(): boolean {
    return this.authorized
  }

  private async listAllTools(client: McpClient): Promise<McpTool[]> {
    const tools: McpTool[] = []
    let cursor: string | undefined
    const seen = new Set<string>()
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor })
      tools.push(...page.tools)
      cursor = page.nextCursor
      // A server that hands back a cursor it gave before would loop forever.
      if (cursor !== undefined) {
        if (seen.has(cursor)) throw new Error(`tools/list returned the cursor '${cursor}' twice`)
        seen.add(cursor)
      }
    } while (cursor !== undefined)
    return tools
  }

  private async loadTools(client: McpClient, sdk: McpSdk): Promise<void> {
    const tools = await this.withAuthorization(() => this.listAllTools(client))
    if (this.client !== client) return
    const resources = Boolean(client.getServerCapabilities()?.resources)
    const cacheFile = this.toolCacheFile()
    if (cacheFile && !this.options.toolCache?.write(cacheFile, this.name, { tools, resources }))
      this.log.debug(`MCP server '${this.name}': its tool list was not kept in ${cacheFile}`)
    const validator = new sdk.AjvJsonSchemaValidator()
    // The same list as the cache offered: its tools stay registered (their order, and so the
    // request's tools and a provider's prompt cache, unchanged) and check with these schemas.
    const unchanged =
      this.cached !== undefined &&
      this.registered.length > 0 &&
      JSON.stringify(this.cached.tools) === JSON.stringify(tools)
    this.cached = undefined
    this.liveInputs.clear()
    if (!unchanged) this.unregisterTools()
    for (const mcpTool of tools) {
      if (mcpTool.execution?.taskSupport === 'required') {
        this.log.debug(
          `MCP tool '${mcpTool.name}' of '${this.name}' needs tasks, which tau does not support yet`,
        )
        continue
      }
      let validate: JsonValidator | undefined
      try {
        validate = validator.getValidator(mcpTool.inputSchema as Parameters<typeof validator.getValidator>[0])
      } catch (error) {
        this.log.warn(
          `MCP tool '${mcpTool.name}' of '${this.name}' has an input schema tau cannot compile (${messageOf(error)}); its input goes to the server unchecked`,
        )
      }
      const input = inputSchemaFor(validate)
      this.liveInputs.set(mcpTool.name, input)
      if (!unchanged) this.registerTool(this.adapt(mcpTool, input), mcpTool.name)
    }
  }

  private registerTool(tool: Tool, mcpName: string): void {
    try {
      const unregister = this.options.registry.register(tool, this.options.plugin)
      this.registered.push({ name: tool.name, unregister })
    } catch (error) {
      this.log.warn(`MCP tool '${mcpName}' of '${this.name}' is not added: ${messageOf(error)}`)
    }
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
          this.log.debug(`MCP server '${this.name}' tools refreshed`, { tools: this.registered.length })
        } while (this.refreshAgain)
      } catch (error) {
        this.log.warn(`MCP server '${this.name}': refreshing its tools failed: ${messageOf(error)}`)
      } finally {
        this.refreshing = undefined
      }
    })()
    return this.refreshing
  }

  private unregisterTools(): void {
    for (const { unregister } of this.registered.splice(0)) unregister()
  }

  private adapt(mcpTool: McpTool, input: Tool['input']): Tool {
    const name = toolName(this.name, mcpTool.name)
    const server = this.name
    const description =
      mcpTool.description ?? mcpTool.title ?? `The tool '${mcpTool.name}' of the MCP server '${server}'.`
    return Object.freeze({
      name,
      description,
      inputSchema: modelSchema(mcpTool),
      input,
      annotations: mapAnnotations(mcpTool),
      // The server's hints are its own claims: they order parallel calls, never grant permission.
      annotationsTrusted: false,
      execute: (value: unknown, context: ToolContext) => this.call(mcpTool.name, value, context),
    })
  }

  private async call(tool: string, input: unknown, context: ToolContext) {
    // A tool offered from the cache, called before the server is up: its first attempt decides.
    if (this.status === 'connecting') await this.start()
    const client = this.client
    const sdk = this.sdk
    if (!client || !sdk || this.status !== 'connected') throw new Error(this.notConnected())
    const timeoutMs = this.config.toolTimeoutMs ?? MCP_DEFAULTS.toolTimeoutMs
    const call = linkCall(context.signal)
    // tau's own progress token and handler (see call-signal.ts: cheaper than the SDK's onprogress).
    const progressToken = this.progress.open(callRoute(context))
    const params = {
      name: tool,
      arguments: input as Record<string, unknown>,
      _meta: { progressToken },
    }
    const options = { signal: call.asAbortSignal(), timeout: timeoutMs }
    const request = () => client.callTool(params, undefined, options)
    try {
      // Only an OAuth server can start an authorization mid-call: the others skip that frame.
      const result =
        this.oauth instanceof TauOAuthProvider ? await this.withAuthorization(request) : await request()
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
      this.progress.close(progressToken)
    }
  }
}

/** A 4xx to the initialize POST that means "an older server" (401/403 are about credentials). */
function isOlderServerAnswer(code: number | undefined): boolean {
  return code !== undefined && code >= 400 && code < 500 && code !== 401 && code !== 403
}

type RemoteConfig = ResolvedServerConfig & { transport: 'http' | 'sse' }

/** Both remote transports finish an authorization with the code the redirect brought. */
interface AuthTransport extends Transport {
  finishAuth(code: string): Promise<void>
}
