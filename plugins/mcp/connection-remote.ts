/**
 * The remote side of one MCP server's connection: streamable HTTP (or SSE for older servers),
 * with OAuth when the server asks for it. It keeps the connection's OAuth provider and transport,
 * so that a request the server protects more than initialize (or a step-up) can finish its
 * authorization and run once more. connection.ts owns the lifecycle around it.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { Logger } from '../../kernel/index.js'
import { MCP_DEFAULTS, type ResolvedServerConfig } from './config.js'
import { messageOf } from './errors.js'
import { type Authorize, isAuthRequired, TauOAuthProvider } from './oauth.js'
import { OAuthStore } from './oauth-store.js'
import { loadAuthExtensions, type McpClient, type McpSdk } from './sdk.js'

export type RemoteConfig = ResolvedServerConfig & { transport: 'http' | 'sse' }

export interface RemoteAuthOptions {
  /** The server's name. */
  readonly name: string
  readonly logger: Logger
  readonly clientInfo: { name: string; version: string }
  /** Where OAuth credentials are kept (`$TAU_HOME/mcp-oauth`). */
  readonly oauthDir: string
  /** Who shows an authorization URL, asked at each connect (see ConnectionOptions.authorize). */
  readonly authorize?: () => Authorize | undefined
  /** The login of the session whose call is in flight, when it can show one. */
  readonly routedAuthorize: () => Authorize | undefined
  /** Aborted when tau stops: a login in progress gives up. */
  readonly signal?: AbortSignal
}

export class RemoteAuth {
  private readonly options: RemoteAuthOptions
  private readonly log: Logger
  /** The OAuth provider of the current remote connection, when the server uses OAuth. */
  private oauth: OAuthClientProvider | undefined
  private transport: Transport | undefined
  /** True once tokens were obtained in this process (a login happened). */
  private authorized = false

  constructor(options: RemoteAuthOptions) {
    this.options = options
    this.log = options.logger
  }

  /** Whether this process obtained tokens for the server (a login finished). */
  get didAuthorize(): boolean {
    return this.authorized
  }

  /** Whether the current connection is one tau's OAuth provider authorizes (it can start a login mid-call). */
  get usesOAuth(): boolean {
    return this.oauth instanceof TauOAuthProvider
  }

  /** The connection is gone: a pending authorization has no transport left to finish on. */
  dropTransport(): void {
    this.transport = undefined
  }

  /**
   * Streamable HTTP (or SSE), with OAuth when the server asks for it. A 4xx other than 401/403
   * to the initialize POST is the specification's sign of an older server: SSE at the same URL.
   */
  async connect(
    sdk: McpSdk,
    config: RemoteConfig,
    newClient: () => McpClient,
    onClient: (client: McpClient) => void,
    onKind: (kind: 'http' | 'sse') => void,
  ): Promise<McpClient> {
    // An interactive provider keeps its loopback callback while its connection lives (a step-up
    // during a call needs it); the previous connection's goes now.
    await this.close()
    const oauth = await this.oauthProvider(config)
    this.oauth = oauth
    if (oauth instanceof TauOAuthProvider) {
      await oauth.prepare()
      if (oauth.shouldRefresh()) await this.refreshTokens(sdk, config, oauth)
    }
    if (config.transport === 'sse') {
      onKind('sse')
      return this.connectOver('sse', sdk, config, newClient, onClient)
    }
    onKind('http')
    try {
      return await this.connectOver('http', sdk, config, newClient, onClient)
    } catch (error) {
      if (!(error instanceof sdk.StreamableHTTPError) || !isOlderServerAnswer(error.code)) throw error
      this.log.debug(`MCP server '${this.options.name}': streamable HTTP answered ${error.code}, trying SSE`)
      onKind('sse')
      return this.connectOver('sse', sdk, config, newClient, onClient)
    }
  }

  /** One connect over `kind`; when it started an authorization, finishes it and connects again. */
  private async connectOver(
    kind: 'http' | 'sse',
    sdk: McpSdk,
    config: RemoteConfig,
    newClient: () => McpClient,
    onClient: (client: McpClient) => void,
  ): Promise<McpClient> {
    const client = newClient()
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
      const again = newClient()
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
  async withAuthorization<T>(request: () => Promise<T>): Promise<T> {
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
    const routed = this.options.routedAuthorize
    return new TauOAuthProvider({
      server: this.options.name,
      store: new OAuthStore(this.options.oauthDir, this.options.name, config.url),
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

  /** Expired tokens with a refresh token are refreshed before the connect (else the 401 path does it). */
  private async refreshTokens(sdk: McpSdk, config: RemoteConfig, oauth: TauOAuthProvider): Promise<void> {
    try {
      await sdk.auth(oauth, { serverUrl: config.url })
      this.log.debug(`MCP server '${this.options.name}': OAuth tokens refreshed`)
    } catch (error) {
      if (isAuthRequired(error)) throw error
      // The connect's own 401 handling tries again and reports what is wrong.
      this.log.debug(`MCP server '${this.options.name}': refreshing OAuth tokens failed: ${messageOf(error)}`)
    }
  }

  /** Closes the loopback callback of an interactive provider. */
  async close(): Promise<void> {
    if (this.oauth instanceof TauOAuthProvider) await this.oauth.close().catch(() => undefined)
  }
}

/** A 4xx to the initialize POST that means "an older server" (401/403 are about credentials). */
function isOlderServerAnswer(code: number | undefined): boolean {
  return code !== undefined && code >= 400 && code < 500 && code !== 401 && code !== 403
}

/** Both remote transports finish an authorization with the code the redirect brought. */
interface AuthTransport extends Transport {
  finishAuth(code: string): Promise<void>
}
