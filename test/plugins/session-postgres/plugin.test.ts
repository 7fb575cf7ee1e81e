/**
 * The session-postgres plugin in a kernel: with a database configured the session log goes to
 * PostgreSQL (nothing is written under TAU_HOME) and a second kernel — another worker — resumes
 * the session from it; without one the plugin is inert and the JSONL store stays.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import session, { type SessionService, sessionServiceRef } from '../../../plugins/session/index.js'
import sessionPostgres from '../../../plugins/session-postgres/index.js'
import { allowAll, harness, resultOf, tempDir } from '../agent/helpers.js'
import { usePgCluster } from './pg-cluster.js'

const cluster = usePgCluster({ schema: 'session' })
const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})

async function kernel(cwd: string, turns: ScriptTurn[], database: string | undefined) {
  const h = await harness({
    cwd,
    turns,
    decide: allowAll,
    plugins: [sessionPostgres, session],
    tauHome: join(cwd, '.tau-home'),
    config: database ? { 'session-postgres': { database } } : {},
  })
  return { h, sessions: h.kernel.resolve(sessionServiceRef) as SessionService }
}

describe('session-postgres plugin', () => {
  it('keeps the log in PostgreSQL; another kernel resumes the session from it', async () => {
    const d = await tempDir('tau-pg-plugin-')
    dirs.push(d)
    const database = await cluster.createDatabase('plugin_resume')
    const first = await kernel(d.dir, [{ text: 'First answer.' }], database)
    expect(first.sessions.store.kind).toBe('postgres')
    const s1 = first.h.session()
    await first.h.run(s1, 'Hello there')
    await first.h.kernel.stop()
    expect(existsSync(join(d.dir, '.tau-home', 'projects'))).toBe(false)

    const second = await kernel(d.dir, [{ text: 'Second answer.' }], database)
    const listed = await second.sessions.list()
    expect(listed.map((s) => [s.id, s.title, s.messages])).toEqual([[s1.id, 'Hello there', 2]])
    const plan = await second.sessions.resume('latest')
    expect(plan.options.id).toBe(s1.id)
    const s2 = second.h.session({ ...plan.options })
    expect(resultOf(await second.h.run(s2, 'And again')).text).toBe('Second answer.')
    // The request carried the first kernel's conversation.
    const sent = second.h.scripted.requests[0]!.messages.map((m) => m.role)
    expect(sent).toEqual(['system', 'user', 'assistant', 'user'])
    await second.h.kernel.stop()
  })

  it('without a database it provides nothing: the JSONL store stays', async () => {
    const d = await tempDir('tau-pg-plugin-')
    dirs.push(d)
    const saved = process.env.TAU_DATABASE_URL
    delete process.env.TAU_DATABASE_URL
    try {
      const { h, sessions } = await kernel(d.dir, [], undefined)
      expect(sessions.store.kind).toBe('jsonl')
      await h.kernel.stop()
    } finally {
      if (saved !== undefined) process.env.TAU_DATABASE_URL = saved
    }
  })
})
