/**
 * A durable run picked up by another worker after a kill that came before its prompt reached the
 * log: the log holds only the session's first records (the meta line; then the run-start). The
 * run has not begun — the new worker runs the prompt, it does not try to continue a conversation
 * that has none. The logs are real ones, written by a real run and cut at each of those records.
 * (The CI run of 5d0bb74 lost a run this way: its recovery threw "no conversation to continue".)
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { agentRuntimeRef } from '../../../plugins/agent/index.js'
import { runDurably } from '../../../plugins/durable-dbos/runner.js'
import session, { type SessionService, sessionServiceRef } from '../../../plugins/session/index.js'
import { harness, tempDir } from '../agent/helpers.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})

async function worker(cwd: string, answer: string) {
  const h = await harness({
    cwd,
    turns: [{ text: answer }],
    plugins: [session],
    tauHome: join(cwd, '.tau-home'),
    config: { session: { durability: 'record' } },
  })
  const sessions = h.kernel.resolve(sessionServiceRef) as SessionService
  const deps = { runtime: h.kernel.resolve(agentRuntimeRef), sessions, cwd, leaseWaitMs: 5_000 }
  return { h, sessions, deps }
}

const context = (executor: string) => ({ executor, signal: new AbortController().signal })

describe('a durable run recovered before its prompt was logged', () => {
  it('runs the prompt once, whether the log was cut after the meta line or after the run-start', async () => {
    const d = await tempDir('tau-durable-runner-')
    dirs.push(d)
    const runId = 'run-cut-before-prompt'
    const input = { runId, prompt: 'Say hello.', submittedAt: new Date().toISOString() }
    const first = await worker(d.dir, 'First answer.')
    const done = await runDurably(first.deps, input, context('w1'))
    expect(done).toMatchObject({ text: 'First answer.', recovered: false })
    const file = first.sessions.store.location(runId)
    const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '')
    const parsed = lines.map((line) => JSON.parse(line) as { type: string; message?: { role: string } })
    const types = parsed.map((record) => record.type)
    const prompt = parsed.findIndex((record) => record.message?.role === 'user')
    // The records before the prompt: the meta line, then the run-start.
    expect(types.slice(0, prompt)).toEqual(['meta', 'run-start'])
    await first.h.kernel.stop()

    for (const cut of [1, 2]) {
      await writeFile(file, `${lines.slice(0, cut).join('\n')}\n`)
      const next = await worker(d.dir, `Answer after a cut at ${cut}.`)
      const out = await runDurably(next.deps, input, context(`w-${cut}`))
      expect(out).toMatchObject({
        text: `Answer after a cut at ${cut}.`,
        stopReason: 'end-turn',
        recovered: false,
      })
      const records = (await next.sessions.store.read(runId)).records
      const users = records.filter((r) => r.type === 'message' && r.message.role === 'user')
      expect(users).toHaveLength(1)
      expect(records.filter((r) => r.type === 'meta')).toHaveLength(1)
      await next.h.kernel.stop()
    }
  })
})
