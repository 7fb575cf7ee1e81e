/**
 * The durable worker's heartbeat thread (plugins/durable-dbos/heartbeat.ts) on a real PostgreSQL:
 * it beats while the worker's main thread is blocked for a while (a synchronous step is not a
 * death), and stops beating once the main thread has not run for `stuckAfterMs` (a worker stuck
 * for good must look dead, so its runs go to another worker), then beats again when it runs.
 * The main thread is blocked with Atomics.wait: no CPU, no timers, no event loop.
 */
import { describe, expect, it } from 'vitest'
import { startHeartbeat } from '../../../plugins/durable-dbos/heartbeat.js'
import { createPool } from '../../../plugins/session-postgres/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { usePgCluster } from '../session-postgres/pg-cluster.js'

const cluster = usePgCluster({ schema: 'none' })

/** Blocks this thread (its event loop, its timers) for `ms`. */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

async function project(name: string) {
  const url = await cluster.createDatabase(name, { empty: true })
  const pool = await createPool(url, { max: 1 })
  await pool.query(
    'CREATE TABLE tau_workers (executor_id text PRIMARY KEY, heartbeat_at timestamptz NOT NULL)',
  )
  await pool.query(`INSERT INTO tau_workers VALUES ('w1', 'epoch')`)
  /** How old the row's heartbeat is, in ms, by the database's clock. */
  const age = async () =>
    Number(
      (
        await pool.query<{ age: string }>(
          `SELECT extract(epoch FROM now() - heartbeat_at) * 1000 AS age FROM tau_workers WHERE executor_id = 'w1'`,
        )
      ).rows[0]?.age,
    )
  const until = async (check: () => Promise<boolean>, what: string) => {
    const end = Date.now() + HANG_LIMIT_MS
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { url, pool, age, until }
}

describe('durable heartbeat thread', () => {
  it('beats while the main thread is blocked, up to stuckAfterMs', async () => {
    const { url, pool, age, until } = await project('beats_blocked')
    const warnings: string[] = []
    const heart = await startHeartbeat({
      url,
      executorId: 'w1',
      intervalMs: 50,
      stuckAfterMs: HANG_LIMIT_MS,
      warn: (m) => warnings.push(m),
    })
    try {
      await until(async () => (await age()) < 10_000, 'the first beat')
      const before = (await pool.query<{ now: Date }>('SELECT now()')).rows[0]!.now.getTime()
      block(3000)
      // Beaten during the block: the row's heartbeat is later than the block's start.
      const at = (await pool.query<{ at: Date }>(`SELECT heartbeat_at AS at FROM tau_workers`)).rows[0]!.at
      expect(at.getTime()).toBeGreaterThan(before)
      expect(warnings.filter((w) => w.includes('paused'))).toEqual([])
    } finally {
      await heart.stop()
      await pool.end()
    }
  })

  it('stops beating once the main thread has not run for stuckAfterMs, and beats again when it runs', async () => {
    const { url, pool, age, until } = await project('beats_stuck')
    const warnings: string[] = []
    const heart = await startHeartbeat({
      url,
      executorId: 'w1',
      intervalMs: 50,
      stuckAfterMs: 300,
      warn: (m) => warnings.push(m),
    })
    try {
      await until(async () => (await age()) < 10_000, 'the first beat')
      block(3000)
      // Without the guard the thread beats every 50 ms through the block; with it, the last beat
      // came at most about 300 ms into it.
      expect(await age()).toBeGreaterThan(1500)
      await until(async () => warnings.some((w) => w.includes('has not run for')), 'the paused warning')
      await until(async () => (await age()) < 1000, 'the beats to start again')
      await until(async () => warnings.some((w) => w.includes('runs again')), 'the moving warning')
      expect(heart.running()).toBe(true)
    } finally {
      await heart.stop()
      await pool.end()
    }
  })
})
