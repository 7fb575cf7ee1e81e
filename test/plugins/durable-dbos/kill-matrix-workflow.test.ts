/**
 * The kill matrix (kill-matrix.test.ts) for a workflow agent step: a durable workflow run
 * (DurableWorkflows, the body of the DBOS workflow `tauWorkflowRun`) whose one agent step makes
 * one tool call writes its step session's log to PostgreSQL and the session's id to
 * `tau_workflow_checkpoints`; the log is then cut after each record (and before the first: the
 * session recorded, nothing of it logged) and the run executed again under a new id, as the
 * worker that recovers it would. Each recovered run must finish with the step's answer, its
 * step session's log must end its run with nothing interrupted, every call ran once or was
 * answered truthfully, and every request passes its provider's rules.
 *
 * DBOS itself is not launched here: it is one per process with global state, and unit files share
 * worker processes. Its statics are a stand-in that runs each step's function as DBOS runs a
 * step with no recorded output (what happens to the step that was running when the worker died);
 * the checkpoints, the store, the orchestrator, the agent and the model are the real ones.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createLogger, type TauConfig } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import agent from '../../../plugins/agent/index.js'
import { type DbosSteps, DurableWorkflows } from '../../../plugins/durable-dbos/workflow-steps.js'
import orchestrate, {
  agent as agentStep,
  defineWorkflow,
  orchestratorRef,
} from '../../../plugins/orchestrate/index.js'
import providerAnthropic from '../../../plugins/provider-anthropic/index.js'
import providerOpenai from '../../../plugins/provider-openai/index.js'
import { startScriptedServer } from '../../../plugins/provider-scripted/server.js'
import providers from '../../../plugins/providers/index.js'
import session, { type SessionService, sessionServiceRef } from '../../../plugins/session/index.js'
import sessionPostgres, { createPool, migrate, type PgPool } from '../../../plugins/session-postgres/index.js'
import subagents from '../../../plugins/subagents/index.js'
import { allowAll, permissionsPlugin, tempDir, toolsPlugin } from '../agent/helpers.js'
import { usePgCluster } from '../session-postgres/pg-cluster.js'
import { checkRecoveredLog, cutsOf, effectsOf, renamed, respond } from './kill-matrix-kit.js'
import type { WireFormat } from './wire-rules.js'

const cluster = usePgCluster({ schema: 'session' })
const cleanups: Array<() => Promise<unknown>> = []
let dir = ''
let effects: ReturnType<typeof effectsOf>

beforeAll(async () => {
  const d = await tempDir('tau-kill-matrix-wf-')
  cleanups.push(() => d.remove())
  dir = d.dir
  effects = effectsOf(join(dir, 'effects.log'))
  process.env.TAU_TEST_KILL_MATRIX_WF_KEY = 'sk-test-kill-matrix'
})
afterAll(async () => {
  delete process.env.TAU_TEST_KILL_MATRIX_WF_KEY
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const workflow = defineWorkflow({
  name: 'append-flow',
  input: z.string(),
  run: agentStep({ agent: 'appender', name: 'append' }),
})

/** DBOS's statics as the step runner uses them (see the file's comment). */
function dbosStandIn() {
  let inStep = false
  const current = { workflowID: undefined as string | undefined }
  const dbos: DbosSteps = {
    async runStep(fn) {
      inStep = true
      try {
        return await fn()
      } finally {
        inStep = false
      }
    },
    isInStep: () => inStep,
    get workflowID() {
      return current.workflowID
    },
    cancelSignal: () => undefined,
  }
  return { dbos, current }
}

async function worker(format: WireFormat) {
  const server = await startScriptedServer({ format, script: [], respond: respond(format) })
  cleanups.push(() => server.close())
  const database = await cluster.createDatabase(`kill_matrix_wf_${format}`)
  const config: TauConfig = {
    model: `${format}:scripted-model`,
    providers: {
      retries: { max: 0 },
      ...(format === 'openai'
        ? { openai: { baseURL: `${server.url}/v1`, apiKeyEnv: 'TAU_TEST_KILL_MATRIX_WF_KEY' } }
        : { anthropic: { baseURL: server.url, apiKey: 'test-key' } }),
    },
    'session-postgres': { database },
    orchestrate: {
      agents: {
        appender: {
          description: 'Appends',
          prompt: 'Append what you are asked to.',
          model: `${format}:scripted-model`,
          tools: ['Append'],
        },
      },
      workflows: [workflow],
    },
  }
  const kernel = await createTestKernel({
    plugins: [
      providers,
      format === 'openai' ? providerOpenai : providerAnthropic,
      toolsPlugin([effects.tool]),
      agent,
      permissionsPlugin(allowAll, []),
      subagents,
      orchestrate,
      sessionPostgres,
      session,
    ],
    config,
    cwd: dir,
    tauHome: join(dir, `home-${format}`),
  })
  cleanups.push(() => kernel.stop())
  const pool: PgPool = await createPool(database, { max: 2 })
  cleanups.push(() => pool.end())
  await migrate(pool)
  const sessions = kernel.resolve(sessionServiceRef) as SessionService
  const { dbos, current } = dbosStandIn()
  const workflows = new DurableWorkflows({
    orchestrator: kernel.resolve(orchestratorRef),
    store: sessions.store,
    leaseWaitMs: 10_000,
    logger: createLogger('durable-dbos', { level: 'error' }),
    dbos,
    db: pool,
  })
  cleanups.push(async () => workflows.close())
  let n = 0
  return {
    server,
    sessions,
    pool,
    /** One execution of the run; `signal` is the worker's stop (a graceful stop hands the run back). */
    async run(runId: string, signal: AbortSignal = new AbortController().signal) {
      current.workflowID = runId
      try {
        return await workflows.run(
          { runId, workflow: 'append-flow', input: `append ${runId}`, submittedAt: new Date().toISOString() },
          { executor: `w${++n}`, signal },
        )
      } finally {
        current.workflowID = undefined
      }
    },
    /** The step sessions recorded for the run, in order. */
    async stepSessions(runId: string): Promise<Array<{ step: string; session: string }>> {
      const rows = await pool.query<{ step: string; session_id: string }>(
        `SELECT step, session_id FROM tau_workflow_checkpoints WHERE run_id = $1 AND session_id IS NOT NULL ORDER BY n`,
        [runId],
      )
      return rows.rows.map((r) => ({ step: r.step, session: r.session_id }))
    },
  }
}

/** The usage records of a session's log, summed: every model call it logged. */
async function loggedUsage(store: SessionService['store'], sessionId: string) {
  return (await store.read(sessionId)).records.reduce(
    (sum, r) =>
      r.type === 'usage'
        ? {
            inputTokens: sum.inputTokens + r.usage.inputTokens,
            outputTokens: sum.outputTokens + r.usage.outputTokens,
          }
        : sum,
    { inputTokens: 0, outputTokens: 0 },
  )
}

describe.each(['openai', 'anthropic'] as const)(
  'a durable workflow killed in its agent step (%s wire)',
  (format) => {
    let w: Awaited<ReturnType<typeof worker>>
    beforeAll(async () => {
      w = await worker(format)
    })

    it("at each record of the step session's log is finished by the next execution, every call once", async () => {
      const ref = 'wf-ref'
      const done = await w.run(ref)
      expect(done).toMatchObject({ isError: false, output: 'done', recovered: false })
      const [recorded] = await w.stepSessions(ref)
      expect(recorded, 'the step recorded its session').toBeDefined()
      const { step, session: refSession } = recorded!
      const records = (await w.sessions.store.read(refSession)).records
      for (const [i, cut] of cutsOf(records, 0).entries()) {
        const runId = `wf-${format}-${i}`
        const sessionId = `wfs-${format}-${i}`
        // What the killed execution had written: the step's session, and its log up to the cut.
        await w.pool.query(
          `INSERT INTO tau_workflow_checkpoints (run_id, step, session_id) VALUES ($1, $2, $3)`,
          [runId, step, sessionId],
        )
        const ids = new Map([
          [refSession, sessionId],
          [ref, runId],
        ])
        if (cut.keep > 0) await w.sessions.store.append(sessionId, renamed(records.slice(0, cut.keep), ids))
        if (cut.ran) effects.add(`${runId} ${cut.call}`)
        const ranBefore = new Set(effects.lines())
        const before = w.server.requests.length
        const where = `${format}, ${cut.label}`
        const out = await w.run(runId)
        expect(out, where).toMatchObject({ runId, isError: false, output: 'done', recovered: true })
        // The session the step finished in: the interrupted one, or (nothing of it logged) a new one.
        const finished = (await w.stepSessions(runId)).at(-1)!.session
        if (cut.keep > 0) expect(finished, where).toBe(sessionId)
        // The run's usage is every model call its step session's log holds, the killed
        // execution's included (it was paid for): a recovery after the model's last answer used
        // to count 0.
        const logged = await loggedUsage(w.sessions.store, finished)
        expect(logged.inputTokens + logged.outputTokens, `${where}: the log's usage`).toBeGreaterThan(0)
        expect(out.usage, `${where}: the run's usage`).toMatchObject(logged)
        await checkRecoveredLog({
          where,
          format,
          store: w.sessions.store,
          sessionId: finished,
          prompt: `append ${runId}`,
          tag: runId,
          earlier: [],
          sent: w.server.requests.slice(before),
          effects: effects.lines(),
          ranBefore,
        })
      }
    })

    it('handed back by a stopping worker mid-step, counts the whole step when the next execution finishes it', async () => {
      const runId = `wf-${format}-handback`
      const stop = new AbortController()
      // The worker is told to stop while the step's tool runs: the run is aborted there and ends
      // `aborted` in the step session's log, the step unfinished (what a graceful stop hands back).
      effects.hooks.after = (line) => {
        if (line.startsWith(`${runId} `)) stop.abort(new Error('the worker is stopping'))
      }
      let first: Awaited<ReturnType<typeof w.run>> | undefined
      try {
        first = await w.run(runId, stop.signal)
      } catch {
        // an execution that throws is handed back too
      } finally {
        effects.hooks.after = undefined
      }
      expect(stop.signal.aborted, 'the tool ran and the worker stopped').toBe(true)
      expect(first?.isError ?? true, 'the first execution did not finish the run').toBe(true)
      const [recorded] = await w.stepSessions(runId)
      const ends = (await w.sessions.store.read(recorded!.session)).records.filter(
        (r) => r.type === 'run-end',
      )
      expect(
        ends.map((r) => (r.type === 'run-end' ? r.stopReason : '')),
        'the handed-back run',
      ).toEqual(['aborted'])
      const out = await w.run(runId)
      expect(out).toMatchObject({ runId, isError: false, output: 'done', recovered: true })
      const finished = (await w.stepSessions(runId)).at(-1)!.session
      expect(finished, 'the step went on in its session').toBe(recorded!.session)
      const logged = await loggedUsage(w.sessions.store, finished)
      // Two model calls: the one before the handback (the Append call) and the last answer.
      expect(logged.outputTokens, 'both calls are logged').toBe(7 + 3)
      expect(out.usage, "the run's usage: both executions' calls").toMatchObject(logged)
      expect(effects.lines().filter((line) => line.startsWith(`${runId} `))).toHaveLength(1)
    })
  },
)
