/**
 * The real `tau` binary against a real OAuth-protected MCP server on loopback (the SDK's
 * server-side auth helpers, test/plugins/mcp/fixtures/oauth-server.mjs): before a login the
 * server is needs-auth in `tau mcp list` and in an agent run (never a crash); `tau mcp login`
 * prints the URL (no browser: stdout is a pipe), the test plays the browser, the tokens land
 * 0600 under TAU_HOME; `tau mcp list` then connects; `tau mcp logout` forgets them.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type OAuthFixture, startOAuthServer } from '../plugins/mcp/fixtures/oauth-server.mjs'
import { HANG_LIMIT_MS, STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()
let fixture: OAuthFixture

beforeAll(async () => {
  fixture = await startOAuthServer()
})

afterAll(async () => {
  await fixture?.close()
})

const config = () =>
  `${JSON.stringify(
    {
      model: 'scripted:oauth-demo',
      providers: { scripted: { turns: [{ text: 'done' }] } },
      mcpServers: { secure: { type: 'http', url: fixture.url } },
    },
    null,
    2,
  )}\n`

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + HANG_LIMIT_MS
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('tau mcp login / logout with a real OAuth flow', () => {
  it('needs-auth, then login through the printed URL, then connected, then logout', async () => {
    const p = await project({ 'tau.config.json': config() }, [])

    const before = await p.run(['mcp', 'list'])
    expect(before.code).toBe(1)
    expect(before.stdout).toContain(
      "secure  http  needs-auth: MCP server 'secure' needs authorization: run `tau mcp login secure`",
    )

    const run = await p.run(['start', '-p', 'hello', '--output-format', 'json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('run `tau mcp login secure`')
    expect(run.stderr).not.toMatch(STACK_LINE)

    const login = p.spawn(['mcp', 'login', 'secure', '--no-browser'])
    let url: string | undefined
    await until(() => {
      url = /^ {2}(http\S+)$/m.exec(login.output())?.[1]
      return url !== undefined || login.exited
    }, 'the authorization URL')
    expect(url, login.output()).toBeDefined()
    const answer = await fetch(url!, { redirect: 'manual' })
    const callback = answer.headers.get('location')
    expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/)
    expect(await (await fetch(callback!)).text()).toContain('tau is authorized')
    const done = await login.result
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toContain("logged in to MCP server 'secure'")
    const dir = join(p.tauHome, 'mcp-oauth')
    const [file] = await readdir(dir)
    expect((await stat(join(dir, file!))).mode & 0o777).toBe(0o600)
    expect(done.stdout + done.stderr).not.toContain([...fixture.tokens.keys()][0])

    const after = await p.run(['mcp', 'list'])
    expect(after.code, after.stdout).toBe(0)
    expect(after.stdout).toContain('secure  http  connected')
    expect(after.stdout).toContain('mcp__secure__whoami')

    const logout = await p.run(['mcp', 'logout', 'secure'])
    expect(logout.code).toBe(0)
    expect(logout.stdout).toContain("logged out of MCP server 'secure'")
    expect(await readdir(dir)).toEqual([])
    // Five runs of the binary, each bounded by its own timeoutMs and every wait a condition: the
    // suite's 20 s default was too short on a loaded machine (the flow itself takes a few seconds).
  }, 240_000)

  it('login to a server that is not configured is a usage error without a stack trace', async () => {
    const p = await project({ 'tau.config.json': config() }, [])
    const result = await p.run(['mcp', 'login', 'nope'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("there is no MCP server 'nope' (servers: secure)")
    expect(result.stderr).not.toMatch(STACK_LINE)
  })
})
