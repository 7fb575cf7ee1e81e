/**
 * The session log in PostgreSQL, behind the same `TranscriptStore` interface and lease as the
 * JSONL files, so any worker on any host can continue any session.
 *
 * - Records are rows of `tau_records` (a `json` column: a record reads back as written), in the
 *   order appended (a bigserial). An append is one transaction, committed before append()
 *   resolves: a crash of the process loses nothing appended, and with PostgreSQL's default
 *   `synchronous_commit` a committed record survives a power loss of the database host too, so
 *   sync() has nothing left to do.
 * - The lease is a row of `tau_leases` with an expiry, renewed while held (every third of the TTL).
 *   A lease whose holder did not renew it in time (a host that died), or whose holder is a dead
 *   process on this host, is taken over. While this store holds a session's lease, its appends
 *   check the lease in the same transaction: a writer that lost its lease (it stalled past the TTL
 *   and another took over) is refused with TAU_SESSION_LOCKED instead of writing into the log of
 *   the new holder.
 * - `tau_sessions` keeps each session's summary (for `tau sessions`), updated with the appends;
 *   `project` scopes list() to a project, as the JSONL store's directory does.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { TauError } from '../../kernel/index.js'
import {
  type LeaseHolder,
  recordProblem,
  SESSION_ERRORS,
  type SessionSummary,
  type TranscriptLease,
  type TranscriptRead,
  type TranscriptRecord,
  type TranscriptStore,
} from '../session/index.js'
import { POSTGRES_LEASE_TTL_MS } from './lease.js'
import { migrate, rollback } from './migrations.js'
import { createPool, maskUrl, type PgPool, unavailable } from './pg.js'

export { POSTGRES_LEASE_TTL_MS } from './lease.js'

/** Session ids: the same shape as the JSONL store's (file names there). */
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string
  /** Scopes list() (the project key); undefined lists every session. */
  readonly project?: string
  /** How long a lease lasts without renewal (default 30 s). */
  readonly leaseTtlMs?: number
  /** Pool size (default 5). */
  readonly maxConnections?: number
  /** Told about errors of idle connections (the pool reconnects). */
  readonly onPoolError?: (error: Error) => void
}

interface LeaseRow {
  token: string
  pid: number
  host: string
  started_at: string
  expired: boolean
}

export class PostgresTranscriptStore implements TranscriptStore {
  readonly kind = 'postgres'
  readonly leaseTtlMs: number
  private pool: Promise<PgPool> | undefined
  private readonly leases = new Map<string, PostgresLease>()
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(private readonly options: PostgresStoreOptions) {
    this.leaseTtlMs = options.leaseTtlMs ?? POSTGRES_LEASE_TTL_MS
  }

  /** The pool, connected and migrated (once). */
  db(): Promise<PgPool> {
    this.pool ??= (async () => {
      const pool = await createPool(this.options.url, {
        max: this.options.maxConnections ?? 5,
        ...(this.options.onPoolError ? { onError: this.options.onPoolError } : {}),
      })
      try {
        await migrate(pool)
      } catch (error) {
        await pool.end().catch(() => undefined)
        throw unavailable(this.options.url, error)
      }
      return pool
    })()
    this.pool.catch(() => {
      this.pool = undefined
    })
    return this.pool
  }

  async acquire(id: string): Promise<TranscriptLease> {
    checkId(id)
    const held = this.leases.get(id)
    if (held) throw lockedError(id, held.holder, this.location(id), 'this process')
    const db = await this.db()
    const holder: LeaseHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
    const token = randomUUID()
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted = await db.query(
        `INSERT INTO tau_leases (session_id, token, pid, host, started_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')
         ON CONFLICT (session_id) DO NOTHING`,
        [id, token, holder.pid, holder.host, holder.startedAt, this.leaseTtlMs],
      )
      if (inserted.rowCount === 1) return this.hold(id, holder, token)
      const current = (
        await db.query<LeaseRow>(
          `SELECT token, pid, host, started_at, expires_at < now() AS expired FROM tau_leases WHERE session_id = $1`,
          [id],
        )
      ).rows[0]
      if (!current) continue // released in between: try again
      const stale =
        current.expired ||
        (current.host === holder.host && current.pid !== process.pid && !pidAlive(current.pid))
      if (!stale) {
        throw lockedError(
          id,
          { pid: current.pid, host: current.host, startedAt: current.started_at },
          this.location(id),
        )
      }
      // Take over that stale lease, and only that one (another may be taking it over too).
      const taken = await db.query(
        `UPDATE tau_leases SET token = $3, pid = $4, host = $5, started_at = $6,
           expires_at = now() + $7 * interval '1 millisecond'
         WHERE session_id = $1 AND token = $2`,
        [id, current.token, token, holder.pid, holder.host, holder.startedAt, this.leaseTtlMs],
      )
      if (taken.rowCount === 1) return this.hold(id, holder, token)
    }
    throw lockedError(
      id,
      holder,
      this.location(id),
      'another process (the lease changed hands while it was being taken)',
    )
  }

  private hold(id: string, holder: LeaseHolder, token: string): PostgresLease {
    const lease = new PostgresLease(this, id, holder, token, () => this.leases.delete(id))
    this.leases.set(id, lease)
    return lease
  }

  append(id: string, records: readonly TranscriptRecord[]): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(() => this.write(id, records))
    this.queues.set(id, next)
    return next
  }

  private async write(id: string, records: readonly TranscriptRecord[]): Promise<void> {
    checkId(id)
    if (records.length === 0) return
    const db = await this.db()
    const lease = this.leases.get(id)
    let messages = 0
    let turns = 0
    for (const record of records) {
      if (record.type !== 'message') continue
      messages++
      if (record.message.role === 'user') turns++
    }
    const meta = records.find((r) => r.type === 'meta')
    const client = await db.connect()
    try {
      await client.query('BEGIN')
      if (lease) {
        const mine = await client.query(
          `SELECT 1 FROM tau_leases WHERE session_id = $1 AND token = $2 FOR SHARE`,
          [id, lease.token],
        )
        if (mine.rowCount !== 1) throw lease.lostError()
      }
      await client.query(
        `INSERT INTO tau_records (session_id, record) SELECT $1, r::json FROM unnest($2::text[]) WITH ORDINALITY AS t(r, i) ORDER BY i`,
        [id, records.map((r) => JSON.stringify(r))],
      )
      if (meta?.type === 'meta') {
        await client.query(
          `INSERT INTO tau_sessions (id, project, started_at, title, model, cwd, parent, subagent_of, turns, messages)
           VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9, $10)
           ON CONFLICT (id) DO UPDATE SET turns = tau_sessions.turns + $9, messages = tau_sessions.messages + $10, updated_at = now()`,
          [
            id,
            this.options.project ?? null,
            meta.startedAt,
            meta.title,
            meta.model,
            meta.cwd,
            meta.parent ? JSON.stringify(meta.parent) : null,
            meta.subagentOf ? JSON.stringify(meta.subagentOf) : null,
            turns,
            messages,
          ],
        )
      } else {
        await client.query(
          `UPDATE tau_sessions SET turns = turns + $2, messages = messages + $3, updated_at = now() WHERE id = $1`,
          [id, turns, messages],
        )
      }
      await client.query('COMMIT')
    } catch (error) {
      await rollback(client)
      throw error instanceof TauError ? error : unavailable(this.options.url, error)
    } finally {
      client.release()
    }
  }

  /** Every append is committed before it resolves: only waits for the appends in flight. */
  async sync(id: string): Promise<void> {
    await this.queues.get(id)
  }

  async read(id: string): Promise<TranscriptRead> {
    checkId(id)
    const db = await this.db()
    const rows = (
      await db.query<{ n: string; record: unknown }>(
        `SELECT n, record FROM tau_records WHERE session_id = $1 ORDER BY n`,
        [id],
      )
    ).rows
    if (rows.length === 0) {
      throw new TauError(
        SESSION_ERRORS.TAU_SESSION_NOT_FOUND,
        `no stored session ${id} (${this.location(id)})`,
        {
          plugin: 'session-postgres',
        },
      )
    }
    const records: TranscriptRecord[] = []
    for (const [i, row] of rows.entries()) {
      const problem = recordProblem(row.record)
      if (problem !== undefined) {
        throw new TauError(
          SESSION_ERRORS.TAU_SESSION_CORRUPT,
          `${this.location(id)} record ${i + 1} (tau_records.n = ${row.n}): ${problem}`,
          { plugin: 'session-postgres' },
        )
      }
      records.push(row.record as TranscriptRecord)
    }
    return { records, warnings: [] }
  }

  async exists(id: string): Promise<boolean> {
    checkId(id)
    const db = await this.db()
    return (await db.query(`SELECT 1 FROM tau_records WHERE session_id = $1 LIMIT 1`, [id])).rowCount === 1
  }

  async list(): Promise<SessionSummary[]> {
    const db = await this.db()
    const project = this.options.project
    const rows = (
      await db.query<{
        id: string
        started_at: string
        updated_at: Date
        title: string
        model: string
        cwd: string
        parent: { id: string; messages: number } | null
        subagent_of: { id: string; toolCallId: string } | null
        turns: number
        messages: number
      }>(
        `SELECT id, started_at, updated_at, title, model, cwd, parent, subagent_of, turns, messages FROM tau_sessions
         ${project === undefined ? '' : 'WHERE project = $1'} ORDER BY updated_at DESC, started_at DESC`,
        project === undefined ? [] : [project],
      )
    ).rows
    return rows.map((row) => ({
      id: row.id,
      startedAt: row.started_at,
      updatedAt: row.updated_at.toISOString(),
      title: row.title,
      model: row.model,
      cwd: row.cwd,
      turns: row.turns,
      messages: row.messages,
      ...(row.parent ? { parent: row.parent } : {}),
      ...(row.subagent_of ? { subagentOf: row.subagent_of } : {}),
      location: this.location(row.id),
      warnings: [],
    }))
  }

  /** Nothing is held open per session. */
  async close(id: string): Promise<void> {
    await this.queues.get(id)?.catch(() => undefined)
  }

  location(id: string): string {
    return `${maskUrl(this.options.url)}#session=${id}`
  }

  /** Releases the leases this store holds and closes its pool; idempotent. */
  async end(): Promise<void> {
    await Promise.all([...this.leases.values()].map((lease) => lease.release().catch(() => undefined)))
    const pool = this.pool
    this.pool = undefined
    if (pool) await (await pool.catch(() => undefined))?.end()
  }
}

class PostgresLease implements TranscriptLease {
  private released = false
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly store: PostgresTranscriptStore,
    readonly sessionId: string,
    readonly holder: LeaseHolder,
    readonly token: string,
    private readonly onRelease: () => void,
  ) {
    this.timer = setInterval(
      () => {
        this.renew().catch(() => undefined)
      },
      Math.max(100, Math.floor(store.leaseTtlMs / 3)),
    )
    this.timer.unref()
  }

  lostError(): TauError {
    return new TauError(
      SESSION_ERRORS.TAU_SESSION_LOCKED,
      `the lease on session ${this.sessionId} was lost (it expired and another process took it over; ${this.store.location(this.sessionId)})`,
      { plugin: 'session-postgres' },
    )
  }

  async renew(): Promise<void> {
    if (this.released) throw this.lostError()
    const db = await this.store.db()
    const renewed = await db.query(
      `UPDATE tau_leases SET expires_at = now() + $3 * interval '1 millisecond' WHERE session_id = $1 AND token = $2`,
      [this.sessionId, this.token, this.store.leaseTtlMs],
    )
    if (renewed.rowCount !== 1) throw this.lostError()
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    clearInterval(this.timer)
    this.onRelease()
    const db = await this.store.db().catch(() => undefined)
    await db
      ?.query(`DELETE FROM tau_leases WHERE session_id = $1 AND token = $2`, [this.sessionId, this.token])
      .catch(() => undefined)
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockedError(id: string, holder: LeaseHolder, where: string, who?: string): TauError {
  return new TauError(
    SESSION_ERRORS.TAU_SESSION_LOCKED,
    `session ${id} is in use by ${who ?? `process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`}; its lease is in ${where}`,
    { plugin: 'session-postgres' },
  )
}

function checkId(id: string): string {
  if (!ID.test(id)) {
    throw new TauError(SESSION_ERRORS.TAU_SESSION_BAD_ID, `'${id}' is not a session id`, {
      plugin: 'session-postgres',
    })
  }
  return id
}
