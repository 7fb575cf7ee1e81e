/**
 * OAuth for remote servers, against a real authorization server and a bearer-protected MCP
 * endpoint on loopback built from the SDK's own server-side auth helpers (fixtures/oauth-server.mjs):
 * discovery, dynamic registration, PKCE, the loopback callback, tokens stored 0600 under
 * TAU_HOME, refresh of expired tokens, fail-closed status without a login, logout.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AuthorizationRequest } from '../../../plugins/mcp/index.js'
import { CallbackServer, OAUTH_DIR } from '../../../plugins/mcp/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { type OAuthFixture, startOAuthServer } from './fixtures/oauth-server.mjs'
import { mcpKernel, runTool, textOf } from './helpers.js'

let fixture: OAuthFixture
/** One TAU_HOME shared by the kernels of a test (a test kernel removes only homes it made). */
let tauHome: string

beforeEach(async () => {
  fixture = await startOAuthServer()
  tauHome = await mkdtemp(join(tmpdir(), 'tau-mcp-oauth-home-'))
})

afterEach(async () => {
  await fixture.close()
  await rm(tauHome, { recursive: true, force: true })
})

/** A kernel with the fixture as server `secure` (retries far apart: no test waits for one), sharing TAU_HOME. */
const secureKernel = () =>
  mcpKernel(
    { mcpServers: { secure: { type: 'http', url: fixture.url, retry: { baseDelayMs: 60_000 } } } },
    { tauHome },
  )

/** The user's browser: opens the authorization URL and follows the redirect to tau's callback. */
async function browser(request: AuthorizationRequest): Promise<void> {
  const answer = await fetch(request.url, { redirect: 'manual' })
  const location = answer.headers.get('location')
  if (!location) throw new Error(`the authorization server did not redirect (${answer.status})`)
  await (await fetch(location)).text()
}

async function credentialFiles(tauHome: string): Promise<string[]> {
  const dir = join(tauHome, OAUTH_DIR)
  return (await readdir(dir)).map((name) => join(dir, name))
}

describe('mcp OAuth', () => {
  it('without a login, a server that answers 401 is needs-auth, says to run tau mcp login, and nothing is registered', async () => {
    const ctx = await secureKernel()
    try {
      const info = ctx.servers().get('secure')
      expect(info).toMatchObject({ status: 'needs-auth', transport: 'http' })
      expect(info?.error).toBe("MCP server 'secure' needs authorization: run `tau mcp login secure`")
      expect(fixture.counts.register).toBe(0)
      expect(fixture.counts.authorize).toBe(0)
      expect(ctx.registry().get('mcp__secure__whoami')).toBeUndefined()
      expect(
        ctx.kernel.logs.some((r) => r.level === 'warn' && r.message.includes('tau mcp login secure')),
      ).toBe(true)
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('logs in: discovery, dynamic registration, PKCE, the loopback callback; tokens 0600; the running server connects', async () => {
    const ctx = await secureKernel()
    try {
      const asked: AuthorizationRequest[] = []
      const result = await ctx.servers().login('secure', async (request) => {
        asked.push(request)
        await browser(request)
      })
      expect(result.authorized).toBe(true)
      expect(asked).toHaveLength(1)
      const url = new URL(asked[0]!.url)
      expect(url.searchParams.get('code_challenge_method')).toBe('S256')
      expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)
      expect(url.searchParams.get('resource')).toBe(fixture.url)
      expect(fixture.counts).toMatchObject({ register: 1, authorize: 1, code: 1 })
      // The running connection was waiting for the login and is up now.
      expect(ctx.servers().get('secure')?.status).toBe('connected')
      const out = await runTool(ctx.registry(), 'mcp__secure__whoami', {})
      expect(textOf(out)).toBe(`client ${[...fixture.clients.keys()][0]}`)
      const [file] = await credentialFiles(ctx.kernel.paths.tauHome)
      expect(file).toBe(result.file)
      expect((await stat(file!)).mode & 0o777).toBe(0o600)
      expect((await stat(join(ctx.kernel.paths.tauHome, OAUTH_DIR))).mode & 0o777).toBe(0o700)
      const stored = JSON.parse(await readFile(file!, 'utf8'))
      expect(stored.tokens.access_token).toMatch(/^at-/)
      expect(stored.client.client_id).toMatch(/^client-/)
      // Secrets never reach the log.
      const logText = JSON.stringify(ctx.kernel.logs)
      expect(logText).not.toContain(stored.tokens.access_token)
      expect(logText).not.toContain(stored.tokens.refresh_token)
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('a later start uses the stored tokens, and refreshes them when they have expired', async () => {
    const first = await secureKernel()
    await first.servers().login('secure', browser)
    await first.kernel.stop()

    const second = await secureKernel()
    try {
      expect(second.servers().get('secure')?.status).toBe('connected')
      expect(fixture.counts.refresh).toBe(0)
    } finally {
      await second.kernel.stop()
    }

    // The server says the tokens are expired (401 invalid_token): the SDK refreshes them with the refresh token.
    fixture.expireAccessTokens()
    const third = await secureKernel()
    try {
      expect(third.servers().get('secure')?.status).toBe('connected')
      expect(fixture.counts.refresh).toBe(1)
      expect(fixture.counts.authorize).toBe(1)
    } finally {
      await third.kernel.stop()
    }
  })

  it('refreshes before connecting when the stored expiry has passed', async () => {
    fixture.setAccessTokenTtl(1)
    const first = await secureKernel()
    await first.servers().login('secure', browser)
    await first.kernel.stop()
    fixture.setAccessTokenTtl(3600)
    // expires_in 1 s is inside the 30 s margin: expired as far as tau knows, without a 401 first.
    const unauthorizedBefore = fixture.counts.unauthorized
    const refreshedBefore = fixture.counts.refresh
    const second = await secureKernel()
    try {
      expect(second.servers().get('secure')?.status).toBe('connected')
      expect(fixture.counts.refresh).toBe(refreshedBefore + 1)
      expect(fixture.counts.unauthorized).toBe(unauthorizedBefore)
    } finally {
      await second.kernel.stop()
    }
  })

  it('logout forgets tokens and registration; the next start is needs-auth again', async () => {
    const first = await secureKernel()
    await first.servers().login('secure', browser)
    expect(first.servers().logout('secure').removed).toBe(true)
    expect(await credentialFiles(tauHome)).toEqual([])
    expect(first.servers().logout('secure').removed).toBe(false)
    await first.kernel.stop()
    const second = await secureKernel()
    try {
      expect(second.servers().get('secure')?.status).toBe('needs-auth')
    } finally {
      await second.kernel.stop()
    }
  })

  it('login refuses a stdio server, an unknown one and oauth: false, naming the problem', async () => {
    const ctx = await mcpKernel(
      {
        mcpServers: {
          local: { command: process.execPath, args: ['-e', ''], disabled: true },
          plain: { type: 'http', url: fixture.url, oauth: false, disabled: true },
        },
      },
      {},
    )
    try {
      await expect(ctx.servers().login('nope', browser)).rejects.toThrow(
        "there is no MCP server 'nope' (servers: local, plain)",
      )
      await expect(ctx.servers().login('local', browser)).rejects.toThrow('is a stdio server')
      await expect(ctx.servers().login('plain', browser)).rejects.toThrow('has `oauth: false`')
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('a login whose browser never comes back is cancelled by its signal, and the server stays needs-auth', async () => {
    const ctx = await secureKernel()
    try {
      const controller = new AbortController()
      const login = ctx.servers().login('secure', async () => controller.abort(), controller.signal)
      await expect(login).rejects.toThrow(/cancelled/)
      expect(ctx.servers().get('secure')?.status).toBe('needs-auth')
    } finally {
      await ctx.kernel.stop()
    }
  })
})

describe('the loopback callback server', () => {
  it('listens on 127.0.0.1, refuses a redirect with another state, passes on the code of the right one', async () => {
    const callback = await CallbackServer.listen(0)
    try {
      expect(callback.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)
      const code = callback.expect('s1', new AbortController().signal, HANG_LIMIT_MS)
      const wrong = await fetch(`${callback.redirectUri}?code=evil&state=other`)
      expect(wrong.status).toBe(400)
      const right = await fetch(`${callback.redirectUri}?code=good&state=s1`)
      expect(right.status).toBe(200)
      expect(await code).toBe('good')
    } finally {
      await callback.close()
    }
  })

  it("rejects with the authorization server's error when the user said no", async () => {
    const callback = await CallbackServer.listen(0)
    try {
      const outcome = callback.expect('s2', new AbortController().signal, HANG_LIMIT_MS).then(
        () => undefined,
        (error: Error) => error.message,
      )
      await fetch(`${callback.redirectUri}?error=access_denied&error_description=no%20thanks&state=s2`)
      expect(await outcome).toBe('the authorization server answered access_denied: no thanks')
    } finally {
      await callback.close()
    }
  })
})

describe('opening the browser', () => {
  it('hands only http(s) URLs to a launcher, never through a shell on Windows', async () => {
    const { browserCommand, isWebUrl } = await import('../../../plugins/mcp/browser.js')
    expect(isWebUrl('https://auth.example/authorize?a=1&b=2')).toBe(true)
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'vscode://x', 'not a url'])
      expect(isWebUrl(bad)).toBe(false)
    const url = 'https://auth.example/authorize?a=1&b=2'
    expect(browserCommand(url, {}, 'linux')).toEqual(['xdg-open', [url]])
    expect(browserCommand(url, {}, 'darwin')).toEqual(['open', [url]])
    expect(browserCommand(url, {}, 'win32')).toEqual(['rundll32', ['url.dll,FileProtocolHandler', url]])
    expect(browserCommand(url, { BROWSER: 'firefox' }, 'linux')).toEqual(['firefox', [url]])
    expect(browserCommand(url, { BROWSER: 'none' }, 'linux')).toBeUndefined()
  })
})
