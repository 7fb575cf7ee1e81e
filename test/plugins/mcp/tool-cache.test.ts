/**
 * The start overlap: a stdio server's tools from its last connection ($TAU_HOME/cache/mcp-tools)
 * are offered at once, so start does not wait for the server; a call of one waits for the
 * connection, which replaces them with what the server lists now. Against the fault server,
 * held before it answers anything (--hold-until) so that "still connecting" is a state the test
 * controls, not a race.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promptCommandSource } from '../../../plugins/mcp/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { alive, FAULT_SERVER, mcpKernel, runTool, textOf, until } from './helpers.js'

let dir: string
let tauHome: string
let release: string
let pidFile: string
const stops: Array<() => Promise<void>> = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-mcp-cache-'))
  tauHome = join(dir, 'home')
  release = join(dir, 'release')
  pidFile = join(dir, 'server.pid')
})

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
  await rm(dir, { recursive: true, force: true })
})

const cacheDir = () => join(tauHome, 'cache', 'mcp-tools')
const config = (args: string[] = []) => ({
  mcpServers: {
    fault: {
      command: process.execPath,
      args: [FAULT_SERVER, '--pid-file', pidFile, '--hold-until', release, ...args],
    },
  },
})

async function kernel(args: string[] = []) {
  const ctx = await mcpKernel(config(args), { cwd: dir, tauHome })
  stops.push(() => ctx.kernel.stop())
  return ctx
}

/** A first run that connects (released at once) and leaves the tool list in the cache. */
async function primeCache(args: string[] = []): Promise<void> {
  await writeFile(release, '')
  const ctx = await kernel(args)
  expect(ctx.servers().get('fault')?.status).toBe('connected')
  await ctx.kernel.stop()
  await rm(release)
  await rm(pidFile, { force: true })
}

describe('mcp: tools from the last connection', () => {
  it('keeps the tool list of a connection in $TAU_HOME/cache/mcp-tools', async () => {
    await primeCache()
    const files = await readdir(cacheDir())
    expect(files).toHaveLength(1)
    const kept = JSON.parse(await readFile(join(cacheDir(), files[0] as string), 'utf8'))
    expect(kept.server).toBe('fault')
    expect(kept.tools.map((t: { name: string }) => t.name)).toContain('pid')
  })

  it('offers them at once: start does not wait, a call waits for the connection', async () => {
    await primeCache()
    const ctx = await kernel()
    // Started while the server answers nothing: its cached tools are there, it is connecting.
    expect(ctx.servers().get('fault')?.status).toBe('connecting')
    const cached = ctx.registry().get('mcp__fault__pid')
    expect(cached).toBeDefined()
    // It offered resources last time: the resource tools are there too.
    expect(ctx.registry().get('ListMcpResourcesTool')).toBeDefined()
    const offered = ctx
      .registry()
      .list()
      .map((t) => t.name)
    const call = runTool(ctx.registry(), 'mcp__fault__pid', {})
    await writeFile(release, '')
    const output = await call
    expect(textOf(output)).toBe(await readFile(pidFile, 'utf8'))
    // Connected, the server listing what it listed last time: the same tools in the same order
    // (a provider's prompt cache keeps the request's tools).
    expect(ctx.servers().get('fault')?.status).toBe('connected')
    expect(
      ctx
        .registry()
        .list()
        .map((t) => t.name),
    ).toEqual(offered)
    expect(ctx.registry().get('mcp__fault__pid')).toBe(cached)
    await ctx.servers().whenStarted()
  })

  it('says so when a cached tool is gone from the server, and drops it', async () => {
    await primeCache()
    const [file] = await readdir(cacheDir())
    const path = join(cacheDir(), file as string)
    const kept = JSON.parse(await readFile(path, 'utf8'))
    kept.tools.push({ name: 'gone', inputSchema: { type: 'object', properties: {} } })
    await writeFile(path, JSON.stringify(kept))
    const ctx = await kernel()
    expect(ctx.registry().get('mcp__fault__gone')).toBeDefined()
    const call = runTool(ctx.registry(), 'mcp__fault__gone', {})
    await writeFile(release, '')
    await expect(call).rejects.toThrow(/the MCP server 'fault' no longer offers the tool 'gone'/)
    expect(ctx.registry().get('mcp__fault__gone')).toBeUndefined()
  })

  it('checks the input of a cached tool against the schema the server lists now', async () => {
    await primeCache()
    const ctx = await kernel()
    const call = runTool(ctx.registry(), 'mcp__fault__env', { name: 7 })
    await writeFile(release, '')
    await expect(call).rejects.toThrow(/must be string/)
  })

  it('fails a call of a cached tool with the reason when the server does not connect', async () => {
    await primeCache()
    const ctx = await mcpKernel(
      {
        mcpServers: {
          fault: { ...config().mcpServers.fault, timeoutMs: 300, retry: { baseDelayMs: 60_000 } },
        },
      },
      { cwd: dir, tauHome },
    )
    stops.push(() => ctx.kernel.stop())
    expect(ctx.registry().get('mcp__fault__pid')).toBeDefined()
    await expect(runTool(ctx.registry(), 'mcp__fault__pid', {})).rejects.toThrow(
      /MCP server 'fault' is not connected \(failed: did not connect within 300 ms/,
    )
    expect(ctx.registry().get('mcp__fault__pid')).toBeUndefined()
  })

  it('gives a changed config none of them: start waits for that server', async () => {
    await primeCache()
    await writeFile(release, '')
    const ctx = await kernel(['--another-flag'])
    expect(ctx.servers().get('fault')?.status).toBe('connected')
    expect(await readdir(cacheDir())).toHaveLength(2)
  })

  it('stops a server still connecting with tau: its process does not outlive the kernel', async () => {
    await primeCache()
    const ctx = await kernel()
    await until(() => existsSync(pidFile), HANG_LIMIT_MS, 'the server process')
    const pid = Number(await readFile(pidFile, 'utf8'))
    expect(alive(pid)).toBe(true)
    expect(ctx.servers().get('fault')?.status).toBe('connecting')
    // stop() resolves once the process has exited (it ignores its stdin while held).
    await ctx.kernel.stop()
    expect(alive(pid)).toBe(false)
  })

  it("lists a connecting server's prompts as commands only when one is looked for by name", async () => {
    await primeCache()
    const ctx = await kernel()
    const source = promptCommandSource(ctx.servers())
    // A listing (the init line, /help) does not wait for the server.
    expect((await source.list()).commands).toEqual([])
    const found = source.list({ name: 'mcp__fault__p1' })
    await writeFile(release, '')
    expect((await found).commands.map((c) => c.name)).toContain('mcp__fault__p1')
  })
})
