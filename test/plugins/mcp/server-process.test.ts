/**
 * No stdio MCP server outlives its kernel: kernel.stop() resolves only once the server's process
 * has exited, whatever state its connection is in (answering nothing yet, in tools/list, a timed-out
 * attempt being closed, a restart after a crash), a server that ignores its stdin's end and
 * SIGTERM included, and the children a server started end with it. Real processes: the lingering
 * server (fixtures/lingering-server.mjs), which never exits on its own when asked not to, and
 * logs what it is asked and what happens to it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alive, mcpKernel, running, until } from './helpers.js'

const LINGERING = fileURLToPath(new URL('./fixtures/lingering-server.mjs', import.meta.url))

let dir: string
let pidFile: string
let logFile: string
const stops: Array<() => Promise<void>> = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-mcp-process-'))
  pidFile = join(dir, 'server.pid')
  logFile = join(dir, 'server.log')
})

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
  await rm(dir, { recursive: true, force: true })
})

const logged = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n') : [])
const pidOf = async (file: string) => Number(await readFile(file, 'utf8'))

/**
 * A kernel with the lingering server, started (`starting`) without waiting: its start waits for
 * the server's first attempt, and a stop may come before that (as tau's on a signal does).
 */
async function kernel(args: string[], server: Record<string, unknown> = {}) {
  const ctx = await mcpKernel(
    {
      mcpServers: {
        lingering: {
          command: process.execPath,
          args: [LINGERING, '--pid-file', pidFile, '--log-file', logFile, ...args],
          ...server,
        },
      },
    },
    { cwd: dir, tauHome: join(dir, 'home'), start: false },
  )
  stops.push(() => ctx.kernel.stop())
  const starting = ctx.kernel.start()
  // A stop before it started makes start() reject or not: the tests look at the processes.
  starting.catch(() => undefined)
  return { ...ctx, starting }
}

describe('mcp: a stdio server does not outlive its kernel', () => {
  it('stopped during initialize, a server that ignores its stdin closing and SIGTERM has exited when stop resolves', async () => {
    const ctx = await kernel(['--answer', 'none', '--ignore-eof', '--ignore-sigterm'])
    await until(() => logged().includes('initialize'), undefined, 'the initialize request')
    const pid = await pidOf(pidFile)
    await ctx.kernel.stop()
    expect(alive(pid)).toBe(false)
    // Asked in order: its stdin closed, then SIGTERM (ignored), then SIGKILL.
    const log = logged()
    expect(log.indexOf('stdin-end')).toBeGreaterThan(log.indexOf('initialize'))
    expect(log.indexOf('SIGTERM ignored')).toBeGreaterThan(log.indexOf('stdin-end'))
  })

  it('stopped during tools/list, the server has exited when stop resolves', async () => {
    const ctx = await kernel(['--answer', 'initialize', '--ignore-eof', '--ignore-sigterm'])
    await until(() => logged().includes('tools/list'), undefined, 'the tools/list request')
    const pid = await pidOf(pidFile)
    await ctx.kernel.stop()
    expect(alive(pid)).toBe(false)
  })

  it('stopped while a timed-out attempt is closing the server, stop waits for that same close', async () => {
    const ctx = await kernel(['--answer', 'none', '--ignore-eof', '--ignore-sigterm'], {
      timeoutMs: 300,
      retry: { baseDelayMs: 60_000 },
    })
    // The attempt timed out and began closing it (its stdin ended): stop comes during that close.
    await until(() => logged().includes('stdin-end'), undefined, 'the timed-out attempt closing it')
    const pid = await pidOf(pidFile)
    await ctx.kernel.stop()
    expect(alive(pid)).toBe(false)
  })

  it('stopped while it restarts after a crash, the restarted server has exited when stop resolves', async () => {
    const ctx = await kernel(['--crash-once', join(dir, 'crashed'), '--ignore-eof', '--ignore-sigterm'], {
      retry: { baseDelayMs: 50 },
    })
    await ctx.starting
    expect(ctx.servers().get('lingering')?.status).toBe('connected')
    const first = await pidOf(pidFile)
    // It exits once connected; the restart (after 50 ms) answers nothing.
    await until(
      () => logged().filter((line) => line === 'initialize').length === 2,
      undefined,
      'the restarted server',
    )
    const second = await pidOf(pidFile)
    expect(second).not.toBe(first)
    expect(ctx.servers().get('lingering')?.attempts).toBeGreaterThan(0)
    await ctx.kernel.stop()
    expect(alive(first)).toBe(false)
    expect(alive(second)).toBe(false)
  })

  it('the child a server started ends with it, when the server exits on its own at stop', async () => {
    const childPidFile = join(dir, 'child.pid')
    const ctx = await kernel(['--child-pid-file', childPidFile])
    await ctx.starting
    expect(ctx.servers().get('lingering')?.status).toBe('connected')
    const pid = await pidOf(pidFile)
    const child = await pidOf(childPidFile)
    expect(running(child)).toBe(true)
    await ctx.kernel.stop()
    expect(alive(pid)).toBe(false)
    // Sent SIGTERM with its group before stop resolved; gone once the signal is delivered.
    await until(() => !running(child), undefined, "the server's child to end")
  })

  it('the child a crashed server started is ended too', async () => {
    const childPidFile = join(dir, 'child.pid')
    const ctx = await kernel(['--crash-once', join(dir, 'crashed'), '--child-pid-file', childPidFile], {
      retry: { baseDelayMs: 60_000 },
    })
    await ctx.starting
    const child = await pidOf(childPidFile)
    await until(() => ctx.servers().get('lingering')?.status === 'failed', undefined, 'the crash')
    await until(() => !running(child), undefined, "the crashed server's child to end")
  })
})
