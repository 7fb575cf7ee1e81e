/**
 * session-postgres: the session log in PostgreSQL (`session.store`), so that workers on many hosts
 * continue each other's sessions. Inert unless a database is configured: `session-postgres.database`,
 * else `durable.database`, else `TAU_DATABASE_URL`. The `pg` driver is an optional peer dependency,
 * imported at the first use of the store, never at boot.
 */
import { z } from 'zod'
import { definePlugin } from '../../kernel/index.js'
import { projectKey, transcriptStoreRef } from '../session/index.js'

export { POSTGRES_ERRORS } from './errors.js'
export { POSTGRES_LEASE_TTL_MS } from './lease.js'
export { MIGRATIONS, type Migration, migrate } from './migrations.js'
export { createPool, maskUrl, type PgClient, type PgPool, type PgQueryable, type PgResult } from './pg.js'
export type { PostgresStoreOptions } from './postgres-store.js'
// PostgresTranscriptStore is in public.ts: it loads only when a database is configured.

export const sessionPostgresConfig = z.strictObject({
  /** postgres://user:password@host:port/database; default durable.database, then TAU_DATABASE_URL. */
  database: z.string().min(1).optional(),
  /** A lease not renewed for this long is taken over by another worker (ms, default 30000). */
  leaseTtlMs: z.number().int().min(1000).optional(),
})

/**
 * The database URL configured for tau, if any: the plugin's key, durable.database, TAU_DATABASE_URL
 * of `env` (the kernel's env: an embedder's own, or process.env for the tau command).
 */
export function databaseUrlOf(
  own: string | undefined,
  rootConfig: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (own) return own
  const durable = rootConfig.durable
  if (durable && typeof durable === 'object' && 'database' in durable) {
    const value = (durable as { database?: unknown }).database
    if (typeof value === 'string' && value !== '') return value
  }
  const fromEnv = env.TAU_DATABASE_URL
  return fromEnv ? fromEnv : undefined
}

export default definePlugin({
  name: 'session-postgres',
  description:
    'Session logs in PostgreSQL when a database is configured (durable.database or TAU_DATABASE_URL)',
  config: sessionPostgresConfig,
  async setup(ctx) {
    const url = databaseUrlOf(ctx.config.database, ctx.rootConfig, ctx.env)
    if (!url) return
    // A database configured: only now the store's code is initialised (not at every start).
    const { PostgresTranscriptStore } = await import('./postgres-store.js')
    const store = new PostgresTranscriptStore({
      url,
      project: projectKey(ctx.paths.projectDir),
      ...(ctx.config.leaseTtlMs === undefined ? {} : { leaseTtlMs: ctx.config.leaseTtlMs }),
      onPoolError: (error) => ctx.logger.warn(`PostgreSQL connection dropped: ${error.message}`),
    })
    ctx.provide(transcriptStoreRef, store)
    return () => store.end()
  },
})
