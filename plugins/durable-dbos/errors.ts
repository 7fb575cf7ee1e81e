/** The durable-dbos plugin's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const DURABLE_ERRORS = defineErrors('durable-dbos', {
  TAU_DURABLE_NOT_CONFIGURED: {
    title: 'No database is configured for durable runs',
    hint: 'Set durable.database in the config (postgres://user:password@host:port/db) or TAU_DATABASE_URL; every worker and `tau submit` use the same database.',
    userError: true,
  },
  TAU_DURABLE_ENGINE_MISSING: {
    title: 'The DBOS Transact SDK is not installed',
    hint: 'Install it next to tau: `npm i -E @dbos-inc/dbos-sdk@5.3.0 pg@8.23.1` (optional peer dependencies).',
    userError: true,
  },
  TAU_DURABLE_RUN_NOT_FOUND: {
    title: 'There is no durable run with that id',
    hint: 'Run `tau runs list` for the runs of the database; ids are what `tau submit` printed.',
    userError: true,
  },
})
