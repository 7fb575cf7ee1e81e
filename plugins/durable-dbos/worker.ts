/**
 * The durable engine's worker (`tau worker`): it joins the queue, runs agent runs (and workflow
 * runs) as DBOS workflows whose work is one step, and recovers the runs of workers that died.
 *
 * Why one step per run, and not one per model call or tool call: the session log (in PostgreSQL,
 * session-postgres) already records every message, tool intent and tool result before the loop
 * goes on, and resume-from-the-log is how tau continues any interrupted session (DESIGN.md: the log
 * is the one source of truth). So when a worker dies, DBOS re-runs the unfinished step on another
 * worker, and that step resumes the session from the log: a tool call with a logged result is
 * never executed again (its result comes from the log), one that was executing is answered to the
 * model as interrupted, and the run continues from the last completed model turn. A second record
 * of the same facts in DBOS's step table would be one more thing to keep consistent.
 *
 * DBOS re-dispatches a dead process's workflows only when told which executor died (its Conductor
 * or admin endpoint do that in DBOS's own deployments). tau does it itself: every worker writes a
 * heartbeat to `tau_workers` (from a thread of its own, heartbeat.ts); a live worker claims the row of one whose heartbeat is older than
 * `workerTtlMs` (a DELETE ... RETURNING: one claimant wins) and puts that executor's pending
 * workflows back on the queue (DBOS.resumeWorkflow), from where any worker of the same version
 * takes them.
 *
 * The SDK is an optional peer dependency, imported only when a worker starts (engine.ts).
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { messageOf } from '../../kernel/index.js'
import { createPool, migrate, type PgPool } from '../session-postgres/index.js'
import type { Notify } from './deltas.js'
import {
  dbosDatabaseUrl,
  dbosLogger,
  type EngineOptions,
  loadDbos,
  migrateDbos,
  RUN_WORKFLOWS,
  type RunInput,
  type RunOutput,
} from './engine.js'
import { checkDatabaseUrl, databaseFailure } from './failures.js'
import { startHeartbeat } from './heartbeat.js'
import { AGENT_RUN_STEP, AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW } from './names.js'
import type { DbosSteps, WorkflowRunInput, WorkflowRunOutput } from './workflow-steps.js'

/** Runs one agent run's work (the plugin's: resume from the log, or start). */
export type RunAgent = (
  input: RunInput,
  context: {
    readonly executor: string
    readonly signal: AbortSignal
    /** `pg_notify` on the worker's pool: the run's text deltas go out through it (deltas.ts). */
    readonly notify?: Notify
  },
) => Promise<RunOutput>

export interface Worker {
  readonly executorId: string
  /** Runs being executed here now. */
  active(): number
  /**
   * Stops taking runs and waits up to `graceMs` for the running ones to finish; what is still
   * running then is handed back (its heartbeat is expired, so another worker recovers it at once).
   */
  stop(graceMs: number): Promise<{ handedBack: number }>
}

let launched = false

/** The worker's workflow runs (made once DBOS is loaded; see workflow-steps.ts). */
export interface WorkflowRuns {
  run(
    input: WorkflowRunInput,
    context: { readonly executor: string; readonly signal: AbortSignal },
  ): Promise<WorkflowRunOutput>
  close(): void
}

/** Joins the queue: registers the workflows, launches DBOS, heartbeats and recovers dead workers' runs. */
export async function startWorker(
  options: EngineOptions,
  runAgent: RunAgent,
  workflowRuns?: (engine: { readonly dbos: DbosSteps; readonly db: PgPool }) => WorkflowRuns,
): Promise<Worker> {
  if (launched)
    throw new Error('a durable worker is already running in this process (DBOS is one per process)')
  const { DBOS } = await loadDbos()
  const { config, logger } = options
  const executorId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  checkDatabaseUrl(options.url)
  const pool: PgPool = await createPool(options.url, {
    max: 4,
    onError: (e) => logger.warn(`PostgreSQL: ${e.message}`),
  })
  try {
    await migrate(pool)
    await migrateDbos(DBOS, options.url, logger)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw databaseFailure(options.url, error)
  }
  const controllers = new Set<AbortController>()
  const notify: Notify = (channel, payload) => pool.query('SELECT pg_notify($1, $2)', [channel, payload])

  DBOS.setConfig({
    name: 'tau',
    systemDatabaseUrl: dbosDatabaseUrl(options.url),
    applicationVersion: options.applicationVersion,
    executorID: executorId,
    logger: dbosLogger(logger),
    runAdminServer: false,
  })
  const step = async (input: RunInput) => {
    const controller = new AbortController()
    controllers.add(controller)
    // `tau runs cancel` marks the workflow CANCELLED; DBOS polls for that and fires the step's
    // cancel signal (within about a second), which aborts the agent's run here: its tool's
    // process tree is killed and the interrupted call is answered, so the log stays a valid
    // conversation. Without it a cancel took effect only at the next step, after the run's end.
    const cancelled = DBOS.stepStatus?.cancelSignal
    const signal = cancelled ? AbortSignal.any([controller.signal, cancelled]) : controller.signal
    cancelled?.addEventListener('abort', () => logger.info(`run ${input.runId} cancelled: aborting it`), {
      once: true,
    })
    try {
      return await runAgent(input, { executor: executorId, signal, notify })
    } finally {
      controllers.delete(controller)
    }
  }
  DBOS.registerWorkflow(
    async (input: RunInput) => DBOS.runStep(() => step(input), { name: AGENT_RUN_STEP }),
    {
      name: AGENT_RUN_WORKFLOW,
    },
  )
  // The DBOS statics the step runner uses, bound (they read DBOS's async context).
  const dbosSteps: DbosSteps = {
    runStep: (fn, config) => DBOS.runStep(fn, config),
    isInStep: () => DBOS.isInStep(),
    get workflowID() {
      return DBOS.workflowID
    },
    cancelSignal: () => DBOS.stepStatus?.cancelSignal,
  }
  const workflows = workflowRuns?.({ dbos: dbosSteps, db: pool })
  if (workflows) {
    DBOS.registerWorkflow(
      async (input: WorkflowRunInput) => {
        const controller = new AbortController()
        controllers.add(controller)
        try {
          return await workflows.run(input, { executor: executorId, signal: controller.signal })
        } finally {
          controllers.delete(controller)
        }
      },
      { name: WORKFLOW_RUN_WORKFLOW },
    )
  }
  await DBOS.launch()
  launched = true
  await DBOS.registerQueue(config.queue, {
    workerConcurrency: config.workerConcurrency,
    ...(config.globalConcurrency === undefined ? {} : { globalConcurrency: config.globalConcurrency }),
    minPollingIntervalMs: config.pollIntervalMs,
    onConflict: 'always_update',
  })
  await pool.query(
    `INSERT INTO tau_workers (executor_id, host, pid, app_version) VALUES ($1, $2, $3, $4)
     ON CONFLICT (executor_id) DO UPDATE SET heartbeat_at = now()`,
    [executorId, hostname(), process.pid, options.applicationVersion],
  )
  logger.info(
    `durable worker ${executorId} joined queue ${config.queue} (version ${options.applicationVersion})`,
  )

  // The heartbeat has a thread of its own (heartbeat.ts): a long synchronous step here (a
  // workflow's first compile, a GC) must not make this worker look dead to the others.
  const intervalMs = Math.max(200, Math.floor(config.workerTtlMs / 3))
  const heart = await startHeartbeat({
    url: options.url,
    executorId,
    intervalMs,
    warn: (message) => logger.warn(message),
  }).catch((error: unknown) => {
    logger.warn(`durable heartbeat thread did not start (${messageOf(error)}); beating from the main thread`)
    return undefined
  })
  let beating: Promise<void> = Promise.resolve()
  const claim = async () => {
    // Only if the thread died: then this loop beats, as before it had one.
    if (!heart?.running())
      await pool.query(`UPDATE tau_workers SET heartbeat_at = now() WHERE executor_id = $1`, [executorId])
    const dead = (
      await pool.query<{ executor_id: string }>(
        `DELETE FROM tau_workers WHERE executor_id <> $1 AND heartbeat_at < now() - $2 * interval '1 millisecond'
         RETURNING executor_id`,
        [executorId, config.workerTtlMs],
      )
    ).rows
    for (const { executor_id: gone } of dead) {
      const pending = await DBOS.listWorkflows({
        status: 'PENDING',
        executorId: gone,
        workflowName: RUN_WORKFLOWS,
      })
      for (const run of pending) await DBOS.resumeWorkflow(run.workflowID, { queueName: config.queue })
      logger.warn(
        `worker ${gone} stopped sending heartbeats; ${pending.length} of its runs went back to the queue`,
      )
    }
  }
  const timer = setInterval(() => {
    beating = beating.then(claim).catch((error: unknown) => {
      logger.warn(`durable heartbeat failed: ${error instanceof Error ? error.message : String(error)}`)
    })
  }, intervalMs)
  timer.unref()

  let stopping: Promise<{ handedBack: number }> | undefined
  return {
    executorId,
    active: () => controllers.size,
    stop(graceMs) {
      stopping ??= (async () => {
        clearInterval(timer)
        await beating
        const running = controllers.size
        // The heartbeat goes on through the grace period: the runs finishing here are not dead.
        await DBOS.shutdown({ workflowCompletionTimeoutMS: graceMs })
        await heart?.stop()
        const handedBack = controllers.size
        // What did not finish in time: abort it here, and let the next worker's heartbeat claim it now.
        for (const controller of controllers) controller.abort()
        if (handedBack > 0) {
          await pool.query(`UPDATE tau_workers SET heartbeat_at = 'epoch' WHERE executor_id = $1`, [
            executorId,
          ])
        } else {
          await pool.query(`DELETE FROM tau_workers WHERE executor_id = $1`, [executorId])
        }
        workflows?.close()
        await pool.end()
        launched = false
        logger.info(
          `durable worker ${executorId} stopped (${running - handedBack} finished, ${handedBack} handed back)`,
        )
        return { handedBack }
      })()
      return stopping
    },
  }
}
