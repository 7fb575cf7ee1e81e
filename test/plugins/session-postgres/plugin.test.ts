/**
 * The session-postgres plugin in a kernel: with a database configured the session log goes to
 * PostgreSQL (nothing is written under TAU_HOME) and a second kernel — another worker — resumes
 * the session from it; without one the plugin is inert and the JSONL store stays. TAU_DATABASE_URL
 * is read from the kernel's env (createAgent({ env })), not process.env.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { definePreset } from '../../../kernel/index.js'
import durableDbos, { durableRunsRef } from '../../../plugins/durable-dbos/index.js'
import providerScripted, { type ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import session, { type SessionService, sessionServiceRef } from '../../../plugins/session/index.js'
import sessionPostgres from '../../../plugins/session-postgres/index.js'
import { createAgent } from '../../../sdk/create-agent.js'
import {
  allowAll,
  collect,
  harness,
  permissionsPlugin,
  resultOf,
  tempDir,
  toolsPlugin,
} from '../agent/helpers.js'
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

  it("TAU_DATABASE_URL is the kernel's env's: of two agents in one process, the one whose env names the database keeps its log there (and has durable runs), the other in JSONL files", async () => {
    // process.env names a database nobody serves: an agent reading it would fail or use it.
    vi.stubEnv('TAU_DATABASE_URL', 'postgres://tau@127.0.0.1:9/nothing')
    const database = await cluster.createDatabase('plugin_kernel_env')
    const agent = async (env: NodeJS.ProcessEnv) => {
      const d = await tempDir('tau-pg-env-')
      dirs.push(d)
      const tauHome = join(d.dir, '.tau-home')
      const made = await createAgent({
        preset: definePreset({
          name: 'pg-env',
          plugins: [providers, providerScripted, session, sessionPostgres, durableDbos],
        }),
        plugins: [toolsPlugin([]), permissionsPlugin(allowAll, [])],
        cwd: d.dir,
        tauHome,
        logLevel: 'silent',
        env: { PATH: process.env.PATH, TAU_MANAGED_SETTINGS_DIR: join(d.dir, '.managed'), ...env },
        config: { model: 'scripted:demo', providers: { scripted: { turns: [{ text: 'Answer.' }] } } },
      })
      return { made, tauHome, sessions: made.kernel.resolve(sessionServiceRef) as SessionService }
    }
    try {
      const [inPg, inFiles] = await Promise.all([agent({ TAU_DATABASE_URL: database }), agent({})])
      expect(inPg.sessions.store.kind).toBe('postgres')
      expect(inFiles.sessions.store.kind).toBe('jsonl')
      // durable-dbos reads the same variable of the same env: runs for the first agent only.
      expect(inPg.made.kernel.tryResolve(durableRunsRef)).toBeDefined()
      expect(inFiles.made.kernel.tryResolve(durableRunsRef)).toBeUndefined()
      for (const { made } of [inPg, inFiles])
        expect(resultOf(await collect(made.run('Hello there'))).text).toBe('Answer.')
      expect((await inPg.sessions.list()).map((s) => s.title)).toEqual(['Hello there'])
      expect(existsSync(join(inPg.tauHome, 'projects'))).toBe(false)
      expect((await inFiles.sessions.list()).map((s) => s.title)).toEqual(['Hello there'])
      expect(existsSync(join(inFiles.tauHome, 'projects'))).toBe(true)
      await Promise.all([inPg.made.close(), inFiles.made.close()])
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
