/**
 * The durable engine on DBOS Transact: an agent run is a DBOS workflow whose work is one step,
 * queued on a DBOS queue with per-worker and global concurrency, pinned to an application version.
 * Here: what a run carries and returns, and what the client (client.ts: `tau submit`, `tau runs`)
 * and the worker (worker.ts: `tau worker`, and why one step per run) share: the SDK, an optional
 * peer dependency imported only when a worker or a client starts; DBOS's migration, its database
 * URL and its logger.
 */
import { type Logger, TauError, type Usage } from '../../kernel/index.js'
import { createPool } from '../session-postgres/index.js'
import type { DurableConfig } from './config.js'
import { DURABLE_ERRORS } from './errors.js'
import { AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW } from './names.js'

/** The workflows of runs (an agent run, a workflow run): what `tau runs` lists, what is recovered. */
export const RUN_WORKFLOWS = [AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW]

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

export type DbosModule = typeof import('@dbos-inc/dbos-sdk')

let loaded: Promise<DbosModule> | undefined
export async function loadDbos(): Promise<DbosModule> {
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
export function dbosLogger(logger: Logger) {
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
export async function migrateDbos(dbos: DbosModule['DBOS'], url: string, logger: Logger): Promise<void> {
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
