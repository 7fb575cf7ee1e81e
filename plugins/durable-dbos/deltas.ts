/**
 * A durable run's text as it streams, across hosts: the worker sends its agent's `text-delta`
 * events as PostgreSQL notifications (`pg_notify`) on a channel of the session, and whoever follows
 * the session (`tau runs logs -f`, `tau serve` in enqueue mode) LISTENs there while it reads the
 * log's records from the store.
 *
 * Why NOTIFY and not DBOS's `writeStream` or a table: a delta is worth something only while the
 * run streams — the log's assistant message holds the same text once the turn ends — so nothing is
 * stored: no rows to bound or to clean up after the run (DBOS keeps a stream's values with its
 * workflow, one row each), and no poll between the worker and a follower. Bounds: deltas are
 * batched (one notification per `DELTA_FLUSH_MS` or `DELTA_MAX_CHARS`), so a payload stays far
 * below PostgreSQL's 8000-byte limit; the server's notification queue drains as each listener
 * reads, and a follower unlistens when it ends. What a follower was not connected for it does not
 * get, exactly as an SSE client of an in-process session after its buffer: the records have it.
 * A connection pooler in transaction mode (PgBouncer) does not carry LISTEN: point followers at
 * PostgreSQL itself.
 */
import { createHash } from 'node:crypto'
import type { Logger } from '../../kernel/index.js'
import type { TranscriptRecord, TranscriptStore } from '../session/index.js'
import { createPool } from '../session-postgres/index.js'

/** At most this long between a delta and its notification (ms). */
export const DELTA_FLUSH_MS = 50
/** At most this many characters a notification (4 bytes each at worst, plus JSON: under 8000 bytes). */
export const DELTA_MAX_CHARS = 1500

/** A batch of a run's text deltas: `seq` is the last delta's, in the session's one sequence. */
export interface TextDelta {
  readonly type: 'text-delta'
  readonly sessionId: string
  readonly runId: string
  readonly seq: number
  readonly text: string
}

/** The session's channel: a quoted identifier of fixed length, whatever the id holds. */
export function deltaChannel(sessionId: string): string {
  return `tau_delta_${createHash('sha256').update(sessionId).digest('hex').slice(0, 40)}`
}

/** Sends `pg_notify(channel, payload)` (the worker's pool). */
export type Notify = (channel: string, payload: string) => Promise<unknown>

/** Batches one run's deltas into notifications, in order; a failed one is logged and dropped. */
export class DeltaPublisher {
  private text = ''
  private seq = -1
  private runId = ''
  private timer: NodeJS.Timeout | undefined
  private sending: Promise<void> = Promise.resolve()
  private readonly channel: string

  constructor(
    private readonly notify: Notify,
    private readonly sessionId: string,
    private readonly logger?: Logger,
  ) {
    this.channel = deltaChannel(sessionId)
  }

  push(delta: { readonly runId: string; readonly seq: number; readonly text: string }): void {
    if (this.text !== '' && delta.runId !== this.runId) this.flush()
    this.runId = delta.runId
    this.seq = delta.seq
    for (let at = 0; at < delta.text.length; ) {
      const room = DELTA_MAX_CHARS - this.text.length
      this.text += delta.text.slice(at, at + room)
      at += room
      if (this.text.length >= DELTA_MAX_CHARS) this.flush()
    }
    if (this.text !== '') this.timer ??= setTimeout(() => this.flush(), DELTA_FLUSH_MS)
  }

  /** Sends what is batched now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.text === '') return
    const delta: TextDelta = {
      type: 'text-delta',
      sessionId: this.sessionId,
      runId: this.runId,
      seq: this.seq,
      text: this.text,
    }
    this.text = ''
    this.sending = this.sending
      .then(() => this.notify(this.channel, JSON.stringify(delta)))
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger?.debug(
            `text deltas of ${this.sessionId} not sent: ${error instanceof Error ? error.message : String(error)}`,
          ),
      )
  }

  /** Flushes and waits until every notification is sent (the run's end). */
  async close(): Promise<void> {
    this.flush()
    await this.sending
  }
}

interface ListeningClient {
  query(text: string): Promise<unknown>
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
  release(error?: Error | boolean): void
}

export interface FollowOptions {
  readonly url: string
  readonly store: TranscriptStore
  /** Records and deltas after this seq (default: from the start). */
  readonly after?: number
  readonly onRecord: (record: TranscriptRecord) => void
  readonly onDelta: (delta: TextDelta) => void
  /** Stop when a record says so (the run's end, for `tau runs logs -f`). */
  readonly until?: (record: TranscriptRecord) => boolean
  readonly signal: AbortSignal
  /** How often the store is read while no delta comes (ms). */
  readonly pollMs?: number
}

/**
 * Follows a session: its log's records from the store (each once, in seq order), and its run's
 * text deltas as they are sent. The store is read again before each delta is passed on, so a
 * delta never goes out before a record with a lower seq, and one the records already cover
 * (their seq is past it) is dropped: every item's seq is above the one before.
 */
export async function followSession(sessionId: string, options: FollowOptions): Promise<void> {
  const { store, signal } = options
  let last = options.after ?? Number.NEGATIVE_INFINITY
  let done = false
  const pending: TextDelta[] = []
  let wake: (() => void) | undefined
  const pool = await createPool(options.url, { max: 1 })
  let client: ListeningClient | undefined
  const channel = deltaChannel(sessionId)
  try {
    client = (await pool.connect()) as unknown as ListeningClient
    client.on('notification', (message) => {
      if (message.channel !== channel || message.payload === undefined) return
      try {
        pending.push(JSON.parse(message.payload) as TextDelta)
      } catch {
        return
      }
      wake?.()
    })
    await client.query(`LISTEN "${channel}"`)
    const onAbort = () => wake?.()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal.aborted && !done) {
        if (await store.exists(sessionId)) {
          for (const record of (await store.read(sessionId)).records) {
            if (record.seq === undefined || record.seq <= last) continue
            options.onRecord(record)
            last = record.seq
            if (options.until?.(record)) done = true
          }
        }
        for (const delta of pending.splice(0)) {
          if (done || delta.seq <= last) continue
          options.onDelta(delta)
          last = delta.seq
        }
        if (done || signal.aborted) break
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, options.pollMs ?? 250)
          function finish() {
            clearTimeout(timer)
            wake = undefined
            resolve()
          }
          wake = finish
          if (pending.length > 0 || signal.aborted) finish()
        })
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  } finally {
    if (client) {
      await client.query(`UNLISTEN "${channel}"`).catch(() => undefined)
      client.release()
    }
    await pool.end().catch(() => undefined)
  }
}
