/**
 * The durable engine on DBOS Transact: an agent run is a DBOS workflow whose work is one step,
 * queued on a DBOS queue with per-worker and global concurrency, pinned to an application version.
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
 * The SDK is an optional peer dependency, imported here only when a worker or a client starts.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { type Logger, messageOf, TauError, type Usage } from '../../kernel/index.js'
import { createPool, migrate, type PgPool } from '../session-postgres/index.js'
import type { DurableConfig } from './config.js'
import type { Notify } from './deltas.js'
import { DURABLE_ERRORS } from './errors.js'
import { checkDatabaseUrl, databaseFailure } from './failures.js'
import { startHeartbeat } from './heartbeat.js'
import { AGENT_RUN_STEP, AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW } from './names.js'
import type { DbosSteps, WorkflowRunInput, WorkflowRunOutput } from './workflow-steps.js'

const RUN_WORKFLOWS = [AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW]

/** What a submitted run carries: everything a worker on another host needs to start it. */
export interface RunInput {
  readonly runId: string
  readonly prompt: string
  /**
   * The session the run continues (`tau serve` in enqueue mode: a conversation of several runs);
   * default a new session with the run's id.
   */
  readonly sessionId?: string
  /** The working directory the run's tools use, on the worker (default: the worker's project). */
  readonly cwd?: string
  /** `provider:model` (default: the worker's configured model). */
  readonly model?: string
  readonly submittedAt: string
}

/** What a finished run returns (the workflow's output). */
export interface RunOutput {
  readonly runId: string
  readonly sessionId: string
  readonly stopReason: string
  readonly isError: boolean
  readonly text: string
  /**
   * The run's model calls and their usage and cost, from its start: a run handed back by a
   * stopping worker (or recovered after a kill) counts what it did before, from its log.
   */
  readonly turns: number
  readonly usage: Usage
  readonly costUsd?: number
  /** The worker that finished it. */
  readonly executor: string
  /** True when the run was taken over from a worker that stopped during it. */
  readonly recovered: boolean
}

/** One line of `tau runs list`. */
export interface RunSummary {
  readonly runId: string
  readonly status: string
  readonly prompt: string
  /** Set for a workflow run (`tau submit --workflow`): its name. */
  readonly workflow?: string
  readonly executor?: string
  readonly applicationVersion?: string
  readonly createdAt: string
  readonly updatedAt?: string
  readonly output?: RunOutput
  /** A workflow run's outcome (instead of `output`). */
  readonly result?: WorkflowRunOutput
  readonly error?: string
}

type DbosModule = typeof import('@dbos-inc/dbos-sdk')
type DbosClientInstance = Awaited<ReturnType<DbosModule['DBOSClient']['create']>>

let loaded: Promise<DbosModule> | undefined
async function loadDbos(): Promise<DbosModule> {
  loaded ??= import('@dbos-inc/dbos-sdk').catch((error: unknown) => {
    loaded = undefined
    throw new TauError(
      DURABLE_ERRORS.TAU_DURABLE_ENGINE_MISSING,
      `@dbos-inc/dbos-sdk could not be loaded (${error instanceof Error ? error.message : String(error)})`,
      { plugin: 'durable-dbos' },
    )
  })
  return loaded
}

/** DBOS's log lines, through the plugin's logger (stderr; stdout is protocol). */
function dbosLogger(logger: Logger) {
  const text = (entry: unknown) =>
    entry instanceof Error ? entry.message : typeof entry === 'string' ? entry : JSON.stringify(entry)
  return {
    info: (entry: unknown) => logger.debug(`dbos: ${text(entry)}`),
    debug: (entry: unknown) => logger.debug(`dbos: ${text(entry)}`),
    warn: (entry: unknown) => logger.warn(`dbos: ${text(entry)}`),
    error: (entry: unknown) => logger.error(`dbos: ${text(entry)}`),
  }
}

/**
 * Creates or migrates DBOS's system tables, one process at a time: DBOS's own migration deadlocks
 * (`deadlock detected`) when workers and clients starting together run it at once.
 */
async function migrateDbos(dbos: DbosModule['DBOS'], url: string, logger: Logger): Promise<void> {
  const pool = await createPool(url, { max: 1 })
  try {
    const client = await pool.connect()
    try {
      // Polled, not waited for: a session blocked in pg_advisory_lock() holds a snapshot, which
      // DBOS's CREATE INDEX CONCURRENTLY waits for — a deadlock PostgreSQL does not detect.
      for (;;) {
        const got = await client.query<{ ok: boolean }>(
          `SELECT pg_try_advisory_lock(hashtext('tau_dbos_migrate')) AS ok`,
        )
        if (got.rows[0]?.ok) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      // DBOS.migrate logs through console.log (stdout is protocol: `tau submit` prints the run id
      // there); for its duration, console's lines go to tau's logger instead.
      const out = globalThis.console
      const saved = { log: out.log, info: out.info, debug: out.debug, warn: out.warn }
      const toLogger = (...parts: unknown[]) => logger.debug(`dbos: ${parts.map(String).join(' ')}`)
      Object.assign(out, { log: toLogger, info: toLogger, debug: toLogger, warn: toLogger })
      try {
        await dbos.migrate(url)
      } finally {
        Object.assign(out, saved)
        await client.query(`SELECT pg_advisory_unlock(hashtext('tau_dbos_migrate'))`)
      }
    } finally {
      client.release()
    }
  } finally {
    await pool.end()
  }
}

/** DBOS's default `idle_in_transaction_session_timeout` for its connections (ms). */
export const DBOS_IDLE_TRANSACTION_TIMEOUT_MS = 60_000

/**
 * The database URL DBOS is given: the same, with DBOS's idle-in-transaction timeout as a startup
 * parameter (`options=-c idle_in_transaction_session_timeout=…`) unless the URL sets it already.
 * Why: otherwise DBOS sets it with a `SET` it does not await on each new connection of its pool,
 * and the borrower's first query is queued behind it on the same client — pg's "client.query()
 * when the client is already executing a query" deprecation, which pg@9 rejects. With the setting
 * in the URL DBOS leaves its connections alone (its documented way), and the server applies the
 * same timeout from the first statement. A URL that does not parse is returned as it is (the
 * caller's checkDatabaseUrl reports it).
 */
export function dbosDatabaseUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  const options = parsed.searchParams.get('options') ?? ''
  if (options.includes('idle_in_transaction_session_timeout')) return url
  const setting = `-c idle_in_transaction_session_timeout=${DBOS_IDLE_TRANSACTION_TIMEOUT_MS}`
  parsed.searchParams.set('options', options.trim() === '' ? setting : `${options} ${setting}`)
  return parsed.toString()
}

export interface EngineOptions {
  readonly url: string
  readonly config: DurableConfig
  readonly applicationVersion: string
  readonly logger: Logger
}

/** Client side: enqueue, list, show, cancel (`tau submit`, `tau runs`); no worker needed. */
export class DurableClient {
  private client: Promise<DbosClientInstance> | undefined

  constructor(private readonly options: EngineOptions) {}

  private get(): Promise<DbosClientInstance> {
    // The system tables may not exist yet (no worker has started): create them first.
    this.client ??= loadDbos()
      .then(async ({ DBOS, DBOSClient }) => {
        checkDatabaseUrl(this.options.url)
        await migrateDbos(DBOS, this.options.url, this.options.logger)
        return DBOSClient.create({
          systemDatabaseUrl: dbosDatabaseUrl(this.options.url),
          applicationName: 'tau',
          logger: dbosLogger(this.options.logger),
          systemDatabasePoolSize: 3,
        })
      })
      .catch((error: unknown) => {
        throw databaseFailure(this.options.url, error)
      })
    this.client.catch(() => {
      this.client = undefined
    })
    return this.client
  }

  /** Enqueues a run pinned to this application version; returns its id. */
  async submit(
    input: Omit<RunInput, 'runId' | 'submittedAt'> & { readonly runId?: string },
  ): Promise<string> {
    const client = await this.get()
    const runId = input.runId ?? `run-${randomUUID()}`
    const full: RunInput = { ...input, runId, submittedAt: new Date().toISOString() }
    await client.enqueue(
      {
        queueName: this.options.config.queue,
        workflowName: AGENT_RUN_WORKFLOW,
        workflowID: runId,
        appVersion: this.options.applicationVersion,
      },
      full,
    )
    return runId
  }

  /** Enqueues a run of the workflow `workflow` (by name, from the workers' catalog); returns its id. */
  async submitWorkflow(workflow: string, input: unknown, runId = `run-${randomUUID()}`): Promise<string> {
    const client = await this.get()
    const full: WorkflowRunInput = {
      runId,
      workflow,
      ...(input === undefined ? {} : { input }),
      submittedAt: new Date().toISOString(),
    }
    await client.enqueue(
      {
        queueName: this.options.config.queue,
        workflowName: WORKFLOW_RUN_WORKFLOW,
        workflowID: runId,
        appVersion: this.options.applicationVersion,
      },
      full,
    )
    return runId
  }

  async list(limit = 100): Promise<RunSummary[]> {
    const client = await this.get()
    const rows = await client.listWorkflows({
      workflowName: RUN_WORKFLOWS,
      sortDesc: true,
      limit,
      loadInput: true,
      loadOutput: true,
    })
    return rows.map(summaryOf)
  }

  async show(runId: string): Promise<RunSummary & { steps: Array<{ name: string; done: boolean }> }> {
    const client = await this.get()
    const status = await client.getWorkflow(runId)
    if (!status) {
      throw new TauError(DURABLE_ERRORS.TAU_DURABLE_RUN_NOT_FOUND, `no durable run ${runId}`, {
        plugin: 'durable-dbos',
      })
    }
    const steps = (await client.listWorkflowSteps(runId)) ?? []
    return {
      ...summaryOf(status),
      steps: steps.map((step: { name: string; output: unknown; error: Error | null }) => ({
        name: step.name,
        done: step.output !== undefined || step.error !== null,
      })),
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.show(runId)
    const client = await this.get()
    await client.cancelWorkflow(runId)
  }

  /** Waits for a run's end (polling); its output. */
  async wait(runId: string, timeoutMs: number): Promise<RunSummary> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const run = await this.show(runId)
      if (run.status === 'SUCCESS' || run.status === 'ERROR' || run.status === 'CANCELLED') return run
      if (Date.now() > deadline) return run
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = undefined
    await (await client?.catch(() => undefined))?.destroy()
  }
}

function summaryOf(status: {
  workflowID: string
  status: string
  input?: unknown[]
  output?: unknown
  error?: unknown
  executorId?: string
  applicationVersion?: string
  createdAt: number
  updatedAt?: number
}): RunSummary {
  const input = status.input?.[0] as Partial<RunInput & WorkflowRunInput> | undefined
  return {
    runId: status.workflowID,
    status: status.status,
    prompt: typeof input?.prompt === 'string' ? input.prompt : '',
    ...(typeof input?.workflow === 'string' ? { workflow: input.workflow } : {}),
    ...(status.executorId ? { executor: status.executorId } : {}),
    ...(status.applicationVersion ? { applicationVersion: status.applicationVersion } : {}),
    createdAt: new Date(status.createdAt).toISOString(),
    ...(status.updatedAt ? { updatedAt: new Date(status.updatedAt).toISOString() } : {}),
    ...(status.output && typeof status.output === 'object'
      ? typeof input?.workflow === 'string'
        ? { result: status.output as WorkflowRunOutput }
        : { output: status.output as RunOutput }
      : {}),
    ...(status.error
      ? { error: status.error instanceof Error ? status.error.message : String(status.error) }
      : {}),
  }
}

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
