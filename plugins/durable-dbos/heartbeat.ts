/**
 * A worker's heartbeat, written from a thread of its own (node:worker_threads) with its own
 * PostgreSQL connection, so that it does not wait for the worker's event loop. The main thread
 * may be busy for seconds at a time with synchronous work that is the worker's job: a workflow's
 * TypeScript compiled at its first run (jiti's transform is synchronous: 0.3-0.4 s of CPU, over
 * 4 s of wall time on a loaded machine), a large session log parsed, a long garbage collection.
 * A heartbeat on the main thread's timers stopped for that long, and with `workerTtlMs` shorter
 * than the stall another worker took the busy one for dead and ran its runs a second time, at the
 * same time. The thread beats while the main thread's event loop still turns now and then: the
 * main thread counts its timer ticks in shared memory, and once they have not moved for
 * `stuckAfterMs` (by default 20 beats, at least a minute) the thread stops beating, so a worker
 * stuck for good (a synchronous loop that never ends) is taken for dead and its runs go to
 * another worker, as before the heartbeat had a thread. It beats again once the ticks move.
 *
 * The thread's code is a string evaluated as CommonJS (`eval: true`), not a file of its own: it
 * runs the same from dist/ (compiled or bundled) and from source under the tests, on Node 20 to
 * 24. It loads `pg` by the path the main thread resolves, the same installed driver.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** What the thread runs: `workerData` is {@link ThreadData}; it posts {@link ThreadMessage}s. */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const pg = require(workerData.pg)
const Pool = pg.Pool || (pg.default && pg.default.Pool)
const ticks = workerData.ticks
let seen = Atomics.load(ticks, 0)
let seenAt = Date.now()
let stuck = false
const pool = new Pool({ connectionString: workerData.url, max: 1, application_name: 'tau-heartbeat' })
pool.on('error', (error) => parentPort.postMessage({ type: 'failed', message: error.message }))
let failing = false
let found = true
let busy = false
const beat = async () => {
  if (busy) return
  const tick = Atomics.load(ticks, 0)
  if (tick !== seen) {
    seen = tick
    seenAt = Date.now()
    if (stuck) parentPort.postMessage({ type: 'moving' })
    stuck = false
  } else if (Date.now() - seenAt > workerData.stuckAfterMs) {
    if (!stuck) parentPort.postMessage({ type: 'stuck', ms: Date.now() - seenAt })
    stuck = true
    return
  }
  busy = true
  try {
    const result = await pool.query('UPDATE tau_workers SET heartbeat_at = now() WHERE executor_id = $1', [workerData.executorId])
    if (failing || found !== (result.rowCount === 1)) parentPort.postMessage({ type: 'beat', found: result.rowCount === 1 })
    failing = false
    found = result.rowCount === 1
  } catch (error) {
    failing = true
    parentPort.postMessage({ type: 'failed', message: error && error.message ? error.message : String(error) })
  } finally {
    busy = false
  }
}
const timer = setInterval(beat, workerData.intervalMs)
parentPort.on('message', async (message) => {
  if (message !== 'stop') return
  clearInterval(timer)
  while (busy) await new Promise((resolve) => setTimeout(resolve, 10))
  await pool.end().catch(() => undefined)
  parentPort.postMessage({ type: 'stopped' })
  parentPort.close()
})
parentPort.postMessage({ type: 'started' })
`

interface ThreadData {
  readonly pg: string
  readonly url: string
  readonly executorId: string
  readonly intervalMs: number
  readonly stuckAfterMs: number
  /** One counter the main thread's timer adds to at every beat interval. */
  readonly ticks: Int32Array
}

type ThreadMessage =
  | { readonly type: 'started' | 'stopped' | 'moving' }
  | { readonly type: 'stuck'; readonly ms: number }
  | { readonly type: 'beat'; readonly found: boolean }
  | { readonly type: 'failed'; readonly message: string }

export interface Heartbeat {
  /** True while the thread runs (false after it stopped, or if it died). */
  running(): boolean
  /** Stops the beats and closes the thread's connection; the last beat is finished first. */
  stop(): Promise<void>
}

/**
 * Starts the heartbeat of `executorId`'s row in `tau_workers` (which must exist): an UPDATE every
 * `intervalMs`, from its own thread. Resolves once the thread runs. `warn` gets its failures (a
 * lost connection: the thread's pool reconnects at the next beat) and its recovery.
 */
export async function startHeartbeat(options: {
  readonly url: string
  readonly executorId: string
  readonly intervalMs: number
  /** How long the main thread's ticks may stand still before the beats stop (default: 20 beats, at least 60 s). */
  readonly stuckAfterMs?: number
  readonly warn: (message: string) => void
}): Promise<Heartbeat> {
  const ticks = new Int32Array(new SharedArrayBuffer(4))
  const ticker = setInterval(() => Atomics.add(ticks, 0, 1), options.intervalMs)
  ticker.unref()
  const data: ThreadData = {
    pg: createRequire(import.meta.url).resolve('pg'),
    url: options.url,
    executorId: options.executorId,
    intervalMs: options.intervalMs,
    stuckAfterMs: options.stuckAfterMs ?? Math.max(60_000, 20 * options.intervalMs),
    ticks,
  }
  const thread = new Worker(THREAD_SOURCE, { eval: true, workerData: data })
  let alive = true
  let stopped: (() => void) | undefined
  const exited = new Promise<void>((resolve) => {
    thread.once('exit', (code) => {
      alive = false
      clearInterval(ticker)
      if (stopped === undefined) options.warn(`durable heartbeat thread exited (code ${code})`)
      resolve()
    })
  })
  await new Promise<void>((resolve, reject) => {
    thread.on('message', (message: ThreadMessage) => {
      switch (message.type) {
        case 'started':
          return resolve()
        case 'stopped':
          return stopped?.()
        case 'stuck':
          return options.warn(
            `durable heartbeat paused: this worker's event loop has not run for ${message.ms} ms, so other workers may take its runs`,
          )
        case 'moving':
          return options.warn('durable heartbeat: the event loop runs again, beating again')
        case 'failed':
          return options.warn(`durable heartbeat failed: ${message.message}`)
        case 'beat':
          return options.warn(
            message.found
              ? 'durable heartbeat: the database answers again'
              : `durable heartbeat: worker ${options.executorId} is no longer in tau_workers`,
          )
      }
    })
    thread.once('error', (error) => {
      clearInterval(ticker)
      options.warn(`durable heartbeat thread failed: ${error.message}`)
      reject(error)
    })
  })
  // It must not keep the process alive; stop() ends it in order.
  thread.unref()
  return {
    running: () => alive,
    async stop() {
      clearInterval(ticker)
      if (!alive) return
      const done = new Promise<void>((resolve) => {
        stopped = resolve
      })
      thread.postMessage('stop')
      await Promise.race([done, exited])
      await thread.terminate()
    },
  }
}
