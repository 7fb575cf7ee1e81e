/** The `durable` config slice (the durable-dbos plugin's). */
import { z } from 'zod'

export const durableConfig = z.strictObject({
  /** The engine. Only DBOS Transact (PostgreSQL) is built; see docs/distributed.md for why. */
  engine: z.literal('dbos').default('dbos'),
  /** postgres://user:password@host:port/db; default TAU_DATABASE_URL. Unset: nothing is durable. */
  database: z.string().min(1).optional(),
  /**
   * The application version runs are pinned to: a run is only dequeued and recovered by workers
   * of the same version, so a deploy of another version never picks up (and breaks) running work.
   * Default `tau-<tau's version>`.
   */
  applicationVersion: z.string().min(1).optional(),
  /** The queue runs wait in. */
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('tau-runs'),
  /** Runs one worker process runs at once. */
  workerConcurrency: z.number().int().min(1).default(2),
  /** Runs all workers run at once (default: no limit beyond the workers'). */
  globalConcurrency: z.number().int().min(1).optional(),
  /** A worker that has not sent a heartbeat for this long is dead; its runs go to another worker (ms). */
  workerTtlMs: z.number().int().min(1000).default(15_000),
  /** How often idle workers look at the queue (ms). */
  pollIntervalMs: z.number().int().min(50).default(500),
})

export type DurableConfig = z.infer<typeof durableConfig>
