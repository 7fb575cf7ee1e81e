/**
 * OAuth for remote MCP servers, on the SDK's own helpers: the transports get an
 * `OAuthClientProvider` (this file's `TauOAuthProvider`), and on a 401 the SDK's `auth()` does
 * the specification's flow — protected-resource and authorization-server metadata discovery,
 * dynamic client registration (or a client metadata URL, or a pre-registered client), PKCE,
 * the authorization request, the code exchange and refreshes. tau adds what the SDK leaves to
 * clients: where credentials are kept (`oauth-store.ts`, 0600 under `$TAU_HOME`), the loopback
 * callback server that receives the code, and who shows the authorization URL to the user.
 *
 * Without someone to show it to (headless, the agent in the background) a server that needs a
 * login fails closed with `McpAuthRequired`: the status says to run `tau mcp login NAME`, and
 * nothing is registered or opened on the way.
 */

import { randomBytes } from 'node:crypto'
import type { Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import type { AuthorizationRequest } from '../agent/index.js'
import type { OAuthConfig } from './config.js'
import { type OAuthStore, tokensExpired } from './oauth-store.js'

/** The URL a user must open to authorize tau for a server (the browser side of the flow). */
export type { AuthorizationRequest } from '../agent/index.js'

/** Shows (or opens) the authorization URL. The code comes back through the loopback callback. */
export type Authorize = (request: AuthorizationRequest, signal: AbortSignal) => Promise<void>

/** A server needs a login that nobody can do now: fail closed, say what to run. */
export class McpAuthRequired extends Error {
  readonly server: string
  constructor(server: string, why = 'needs authorization') {
    super(`MCP server '${server}' ${why}: run \`tau mcp login ${server}\``)
    this.name = 'McpAuthRequired'
    this.server = server
  }
}

export function isAuthRequired(error: unknown): error is McpAuthRequired {
  return error instanceof Error && error.name === 'McpAuthRequired'
}

const CALLBACK_PATH = '/callback'
const LOOPBACK = '127.0.0.1'

/**
 * The loopback redirect target (RFC 8252 §7.3): listens on 127.0.0.1 only, answers
 * `GET /callback?code=...&state=...` once the state matches the flow it waits for, and refuses
 * anything else. One flow at a time.
 */
export class CallbackServer {
  private waiting:
    | { state: string; resolve: (code: string) => void; reject: (error: Error) => void }
    | undefined

  private constructor(
    private readonly server: Server,
    readonly redirectUri: string,
  ) {}

  /** Listens on `port` (0: any free port); a busy fixed port is an error naming it. */
  static async listen(port = 0): Promise<CallbackServer> {
    let self: CallbackServer | undefined
    // node:http is loaded here, not with the MCP plugin: a command that makes no HTTP request
    // (`tau --help`, `tau config`) would load it for nothing (a model call loads it with undici).
    const { createServer } = process.getBuiltinModule('node:http')
    const server = createServer((req, res) => self?.handle(req.url ?? '/', res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`the OAuth callback port ${port} on ${LOOPBACK} is in use`)
            : error,
        ),
      )
      server.listen(port, LOOPBACK, () => resolve())
    })
    server.unref()
    const actual = (server.address() as AddressInfo).port
    self = new CallbackServer(server, `http://${LOOPBACK}:${actual}${CALLBACK_PATH}`)
    return self
  }

  /** Resolves with the authorization code of the redirect that carries `state`. */
  expect(state: string, signal: AbortSignal, timeoutMs: number): Promise<string> {
    this.waiting?.reject(new Error('another authorization started'))
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`no authorization arrived within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      )
      timer.unref()
      const onAbort = () => fail(new Error('the authorization was cancelled'))
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (this.waiting?.state === state) this.waiting = undefined
      }
      const fail = (error: Error) => {
        done()
        reject(error)
      }
      if (signal.aborted) return fail(new Error('the authorization was cancelled'))
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiting = {
        state,
        resolve: (code) => {
          done()
          resolve(code)
        },
        reject: fail,
      }
    })
  }

  private handle(rawUrl: string, res: ServerResponse): void {
    const url = new URL(rawUrl, this.redirectUri)
    const page = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(`<!doctype html><meta charset="utf-8"><title>tau</title><p>${escapeHtml(text)}</p>\n`)
    }
    if (url.pathname !== CALLBACK_PATH) {
      page(404, 'Not found.')
      return
    }
    const waiting = this.waiting
    const state = url.searchParams.get('state')
    // A redirect without the state of the flow we started is not ours (CSRF, an old tab).
    if (!waiting || state !== waiting.state) {
      page(400, 'This authorization is not the one tau is waiting for.')
      return
    }
    const error = url.searchParams.get('error')
    if (error) {
      const description = url.searchParams.get('error_description')
      page(400, `Authorization failed: ${error}. You can close this window.`)
      waiting.reject(
        new Error(`the authorization server answered ${error}${description ? `: ${description}` : ''}`),
      )
      return
    }
    const code = url.searchParams.get('code')
    if (!code) {
      page(400, 'The redirect carries no authorization code.')
      return
    }
    page(200, 'tau is authorized. You can close this window.')
    waiting.resolve(code)
  }

  close(): Promise<void> {
    this.waiting?.reject(new Error('the callback server closed'))
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

export interface ProviderOptions {
  readonly server: string
  readonly store: OAuthStore
  /** `oauth` of the server's config, `${VAR}`s expanded. */
  readonly config: OAuthConfig
  readonly clientName: string
  /** Shows the authorization URL; without one the provider fails closed (McpAuthRequired). */
  readonly authorize?: Authorize
  readonly signal: AbortSignal
  /** How long a login waits for the browser to come back. */
  readonly loginTimeoutMs: number
}

/**
 * The SDK's OAuthClientProvider over tau's store. Interactive when an `authorize` is given (a
 * loopback callback server runs while a flow waits); otherwise it only uses and refreshes what
 * is stored, and fails closed where a user would be needed.
 */
export class TauOAuthProvider implements OAuthClientProvider {
  private callback: CallbackServer | undefined
  private verifier: string | undefined
  private currentState: string | undefined
  /** The code of the flow started by the last redirectToAuthorization (interactive only). */
  private pendingCode: Promise<string> | undefined

  constructor(private readonly options: ProviderOptions) {}

  get interactive(): boolean {
    return this.options.authorize !== undefined
  }

  /** Starts the callback server (interactive) on the configured port, else the one registered before. */
  async prepare(): Promise<void> {
    if (!this.interactive || this.callback) return
    const configured = this.options.config.callbackPort
    const registered = portOf(this.options.store.read()?.redirectUri)
    if (configured !== undefined) {
      this.callback = await CallbackServer.listen(configured)
      return
    }
    try {
      this.callback = await CallbackServer.listen(registered ?? 0)
    } catch {
      this.callback = await CallbackServer.listen(0)
    }
  }

  async close(): Promise<void> {
    const callback = this.callback
    this.callback = undefined
    await callback?.close()
  }

  /** Whether stored tokens are expired and can be refreshed before connecting. */
  shouldRefresh(): boolean {
    const stored = this.options.store.read()
    return tokensExpired(stored) && stored?.tokens?.refresh_token !== undefined
  }

  /** The code of a flow started during the last request, to finish it with (then cleared). */
  takePendingCode(): Promise<string> | undefined {
    const pending = this.pendingCode
    this.pendingCode = undefined
    return pending
  }

  /**
   * The loopback callback while a flow can run; otherwise the URI registered before (refreshes
   * and the fail-closed path never redirect, but the SDK wants one to exist).
   */
  get redirectUrl(): string {
    const port = this.options.config.callbackPort
    return (
      this.callback?.redirectUri ??
      this.options.store.read()?.redirectUri ??
      `http://${LOOPBACK}${port === undefined ? '' : `:${port}`}${CALLBACK_PATH}`
    )
  }

  get clientMetadataUrl(): string | undefined {
    return this.options.config.clientMetadataUrl
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(this.options.config.scope ? { scope: this.options.config.scope } : {}),
    }
  }

  state(): string {
    this.currentState = randomBytes(16).toString('base64url')
    return this.currentState
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    const { clientId, clientSecret } = this.options.config
    if (clientId !== undefined)
      return { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) }
    const stored = this.options.store.read()
    const client = stored?.client
    // A dynamic registration is for its redirect URI; a login on another port registers again.
    const usable =
      client &&
      (client.client_id === this.options.config.clientMetadataUrl ||
        !this.interactive ||
        stored?.redirectUri === undefined ||
        stored.redirectUri === this.redirectUrl)
    if (usable) return client
    // Registering needs a user to finish the flow it starts: without one, stop before it.
    if (!this.interactive) throw new McpAuthRequired(this.options.server)
    return undefined
  }

  saveClientInformation(client: OAuthClientInformationMixed): void {
    // A configured client stays in the config (its secret is not copied to disk).
    if (this.options.config.clientId !== undefined) return
    this.options.store.update((current) => ({ ...current, client, redirectUri: this.redirectUrl }))
  }

  tokens(): OAuthTokens | undefined {
    return this.options.store.read()?.tokens
  }

  saveTokens(tokens: OAuthTokens): void {
    this.options.store.update((current) => ({ ...current, tokens, savedAt: Date.now() }))
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const authorize = this.options.authorize
    // A session that can show a login may be asking only now (a step-up during its call).
    if (authorize && !this.callback) await this.prepare()
    if (!authorize || !this.callback) throw new McpAuthRequired(this.options.server)
    // The endpoint comes from the server's metadata: a user is only ever sent to a web page.
    if (authorizationUrl.protocol !== 'https:' && authorizationUrl.protocol !== 'http:') {
      throw new Error(
        `MCP server '${this.options.server}': its authorization endpoint is not an http(s) URL (${authorizationUrl.protocol})`,
      )
    }
    const state = authorizationUrl.searchParams.get('state') ?? this.currentState ?? ''
    const code = this.callback.expect(state, this.options.signal, this.options.loginTimeoutMs)
    // Observed by whoever finishes the flow; an unobserved failure must not crash the process.
    code.catch(() => undefined)
    this.pendingCode = code
    await authorize({ server: this.options.server, url: authorizationUrl.href }, this.options.signal)
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    if (this.verifier === undefined) throw new Error('no PKCE code verifier: no authorization was started')
    return this.verifier
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'verifier') {
      this.verifier = undefined
      return
    }
    this.options.store.update((current) => {
      const { client, redirectUri, tokens, savedAt, discovery, ...rest } = current
      return {
        ...rest,
        ...(scope === 'all' || scope === 'client' ? {} : { client, redirectUri }),
        ...(scope === 'all' || scope === 'tokens' ? {} : { tokens, savedAt }),
        ...(scope === 'all' || scope === 'discovery' ? {} : { discovery }),
      } as typeof current
    })
  }

  saveDiscoveryState(discovery: OAuthDiscoveryState): void {
    this.options.store.update((current) => ({ ...current, discovery }))
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.options.store.read()?.discovery
  }
}

function portOf(uri: string | undefined): number | undefined {
  if (!uri) return undefined
  try {
    const port = Number(new URL(uri).port)
    return Number.isInteger(port) && port > 0 ? port : undefined
  } catch {
    return undefined
  }
}
