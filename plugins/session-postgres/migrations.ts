/**
 * tau's tables in PostgreSQL, created and migrated by tau itself: `tau_migrations` records each
 * applied step; a step is applied once, in a transaction, under an advisory lock so that workers
 * starting together do not race. Steps are only ever added at the end.
 */
import { TauError } from '../../kernel/index.js'
import { POSTGRES_ERRORS } from './errors.js'
import type { PgClient, PgPool } from './pg.js'

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'session log and leases',
    sql: `
      CREATE TABLE tau_sessions (
        id text PRIMARY KEY,
        project text,
        started_at text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        title text NOT NULL DEFAULT '',
        model text NOT NULL DEFAULT '',
        cwd text NOT NULL DEFAULT '',
        parent json,
        subagent_of json,
        turns integer NOT NULL DEFAULT 0,
        messages integer NOT NULL DEFAULT 0
      );
      CREATE INDEX tau_sessions_project ON tau_sessions (project, updated_at DESC);
      -- json, not jsonb: a record comes back exactly as it was written (key order, numbers).
      CREATE TABLE tau_records (
        n bigserial PRIMARY KEY,
        session_id text NOT NULL,
        record json NOT NULL
      );
      CREATE INDEX tau_records_session ON tau_records (session_id, n);
      CREATE TABLE tau_leases (
        session_id text PRIMARY KEY,
        token text NOT NULL,
        pid integer NOT NULL,
        host text NOT NULL,
        started_at text NOT NULL,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'durable workers',
    sql: `
      -- Workers of the durable engine and their heartbeats: a worker whose heartbeat is older
      -- than the TTL is dead, and the first live worker to claim its row recovers its runs.
      CREATE TABLE tau_workers (
        executor_id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        app_version text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 3,
    name: 'durable workflow checkpoints',
    sql: `
      -- A durable workflow run's step boundaries that DBOS's own step table cannot key by path:
      -- the agent sessions a step started (a recovered step continues them from their logs) and
      -- the outcomes of steps nested inside one DBOS step. One row per fact, in order.
      CREATE TABLE tau_workflow_checkpoints (
        n bigserial PRIMARY KEY,
        run_id text NOT NULL,
        step text NOT NULL,
        session_id text,
        outcome json
      );
      CREATE INDEX tau_workflow_checkpoints_run ON tau_workflow_checkpoints (run_id, step, n);
    `,
  },
]

/** Applies the steps the database does not have yet; returns the versions applied. */
export async function migrate(
  pool: PgPool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('BEGIN')
    // One migrator at a time across every process on this database.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('tau_migrations'))`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS tau_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    )
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM tau_migrations')).rows.map(
        (r) => r.version,
      ),
    )
    const known = new Set(migrations.map((m) => m.version))
    const unknown = [...done].filter((v) => !known.has(v))
    if (unknown.length > 0) {
      throw new TauError(
        POSTGRES_ERRORS.TAU_POSTGRES_SCHEMA_NEWER,
        `the database has tau schema version ${Math.max(...unknown)}; this tau knows up to ${Math.max(0, ...known)}`,
        { plugin: 'session-postgres' },
      )
    }
    for (const step of migrations) {
      if (done.has(step.version)) continue
      await client.query(step.sql)
      await client.query('INSERT INTO tau_migrations (version, name) VALUES ($1, $2)', [
        step.version,
        step.name,
      ])
      applied.push(step.version)
    }
    await client.query('COMMIT')
    return applied
  } catch (error) {
    await rollback(client)
    throw error
  } finally {
    client.release()
  }
}

export async function rollback(client: PgClient): Promise<void> {
  await client.query('ROLLBACK').catch(() => undefined)
}
