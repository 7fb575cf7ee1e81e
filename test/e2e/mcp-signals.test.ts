/**
 * `tau` ended by a signal while a stdio MCP server still connects leaves no process of it behind:
 * the server (which here ignores its stdin closing and SIGTERM, and answers nothing) and the child
 * it started are gone once tau has exited, after one signal (tau's stop closes it, then kills its
 * process group) and after a second one that makes tau exit without waiting (its exit hook kills
 * the group). The server is the lingering server of the MCP unit tests, which logs what it is
 * asked and what happens to it; `tau start -p` waits for its first attempt, so "still
 * connecting" is where tau is when the signal comes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { running } from '../plugins/mcp/helpers.js'
import { HANG_LIMIT_MS, type Project, REPO_ROOT, useProjects, waitUntil } from './run-tau.js'

const LINGERING = join(REPO_ROOT, 'test', 'plugins', 'mcp', 'fixtures', 'lingering-server.mjs')
const project = useProjects()

/** `stopGraceMs`: the server's time to exit after its stdin closes, and after SIGTERM. */
async function lingeringProject(
  stopGraceMs?: number,
): Promise<Project & { log: () => string[]; pids: () => number[] }> {
  const p = await project({}, [])
  const file = (name: string) => join(p.tauHome, '..', name)
  await p.write({
    'tau.config.json': `${JSON.stringify({
      model: 'openai:scripted-model',
      // Never asked: start waits for the server, which never answers.
      providers: { openai: { baseURL: 'http://127.0.0.1:9/v1' } },
      mcpServers: {
        lingering: {
          command: process.execPath,
          args: [
            LINGERING,
            ...['--answer', 'none', '--ignore-eof', '--ignore-sigterm'],
            ...['--pid-file', file('server.pid'), '--child-pid-file', file('child.pid')],
            ...['--log-file', file('server.log')],
          ],
          ...(stopGraceMs === undefined ? {} : { stopGraceMs }),
        },
      },
    })}\n`,
  })
  return Object.assign(p, {
    log: () => (existsSync(file('server.log')) ? readFileSync(file('server.log'), 'utf8').split('\n') : []),
    pids: () => [file('server.pid'), file('child.pid')].map((f) => Number(readFileSync(f, 'utf8'))),
  })
}

const env = { OPENAI_API_KEY: 'sk-test' }

/** Waits until none of `pids` runs (the limit is for hangs only). */
async function gone(pids: number[]): Promise<void> {
  const end = Date.now() + HANG_LIMIT_MS
  while (pids.some(running)) {
    if (Date.now() > end)
      throw new Error(`still running after tau exited: ${pids.filter(running).join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('tau ended by a signal while an MCP server connects', () => {
  it('SIGINT: tau stops, and the server and its child are gone once it has exited', async () => {
    const p = await lingeringProject()
    const run = p.spawn(['start', '-p', 'hi'], { env })
    await waitUntil(() => p.log().includes('initialize'), 'the initialize request', run)
    const pids = p.pids()
    expect(pids.every(running)).toBe(true)
    run.child.kill('SIGINT')
    const result = await run.result
    expect(result.code, result.stderr).toBe(130)
    // The stop closed its stdin, then signalled its group (SIGTERM, ignored), then killed it.
    const log = p.log()
    expect(log.indexOf('SIGTERM ignored')).toBeGreaterThan(log.indexOf('stdin-end'))
    await gone(pids)
  })

  it('a second SIGTERM: tau exits without waiting, and still leaves neither behind', async () => {
    // A grace longer than the test: the second signal surely comes while tau's stop waits.
    const p = await lingeringProject(600_000)
    const run = p.spawn(['start', '-p', 'hi'], { env })
    await waitUntil(() => p.log().includes('initialize'), 'the initialize request', run)
    const pids = p.pids()
    run.child.kill('SIGTERM')
    await waitUntil(() => p.log().includes('stdin-end'), "the stop closing the server's stdin", run)
    run.child.kill('SIGTERM')
    const result = await run.result
    expect(result.code, result.stderr).toBe(143)
    expect(result.stderr).toContain('SIGTERM again, exiting without waiting')
    expect(p.log()).not.toContain('SIGTERM ignored')
    await gone(pids)
  })

  it('a grace past the limit of tau’s stop: tau exits at that limit, and leaves neither behind', async () => {
    const p = await lingeringProject(600_000)
    const run = p.spawn(['start', '-p', 'hi'], { env })
    await waitUntil(() => p.log().includes('initialize'), 'the initialize request', run)
    const pids = p.pids()
    run.child.kill('SIGTERM')
    const result = await run.result
    expect(result.code, result.stderr).toBe(143)
    // Still in its grace when tau exited: neither SIGTERM nor the close's SIGKILL had come.
    expect(p.log()).toContain('stdin-end')
    expect(p.log()).not.toContain('SIGTERM ignored')
    await gone(pids)
  })
})
