/**
 * A worker's heartbeat, written from a thread of its own (node:worker_threads) with its own
 * PostgreSQL connection, so that it does not wait for the worker's event loop. The main thread
 * may be busy for seconds at a time with synchronous work that is the worker's job: a workflow's
 * TypeScript compiled at its first run (jiti's transform is synchronous: 0.3-0.4 s of CPU, over
 * 4 s of wall time on a loaded machine), a large session log parsed, a long garbage collection.
 * A heartbeat on the main thread's timers stopped for that long, and with `workerTtlMs` shorter
 * than the stall another worker took the busy one for dead and ran its runs a second time, at the
 * same time. The thread's heartbeat stops only when the process does (or cannot reach the
 * database); a process that is alive but stuck keeps its runs, as one in a long tool call does.
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
const pool = new Pool({ connectionString: workerData.url, max: 1, application_name: 'tau-heartbeat' })
pool.on('error', (error) => parentPort.postMessage({ type: 'failed', message: error.message }))
let failing = false
let found = true
let busy = false
const beat = async () => {
  if (busy) return
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
}

type ThreadMessage =
  | { readonly type: 'started' | 'stopped' }
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
  readonly warn: (message: string) => void
}): Promise<Heartbeat> {
  const data: ThreadData = {
    pg: createRequire(import.meta.url).resolve('pg'),
    url: options.url,
    executorId: options.executorId,
    intervalMs: options.intervalMs,
  }
  const thread = new Worker(THREAD_SOURCE, { eval: true, workerData: data })
  let alive = true
  let stopped: (() => void) | undefined
  const exited = new Promise<void>((resolve) => {
    thread.once('exit', (code) => {
      alive = false
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
      options.warn(`durable heartbeat thread failed: ${error.message}`)
      reject(error)
    })
  })
  // It must not keep the process alive; stop() ends it in order.
  thread.unref()
  return {
    running: () => alive,
    async stop() {
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
