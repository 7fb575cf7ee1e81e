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
  TAU_DURABLE_DATABASE_URL: {
    title: 'The durable database URL is not a PostgreSQL URL',
    hint: 'Write it as postgres://user:password@host:port/db (durable.database or TAU_DATABASE_URL); percent-encode special characters in the password.',
    userError: true,
  },
  TAU_DURABLE_DATABASE_UNREACHABLE: {
    title: 'The durable database does not answer',
    hint: 'Check that PostgreSQL runs at the host and port of durable.database (or TAU_DATABASE_URL) and that this host can reach it (`pg_isready -h HOST -p PORT`).',
    userError: true,
  },
  TAU_DURABLE_DATABASE_AUTH: {
    title: 'The durable database refused the user or password',
    hint: 'Check the user and password in durable.database (or TAU_DATABASE_URL) and the server’s pg_hba.conf entry for this host.',
    userError: true,
  },
  TAU_DURABLE_DATABASE_MISSING: {
    title: 'The durable database does not exist on the server',
    hint: 'Create it (`createdb NAME` or CREATE DATABASE) or fix the database name at the end of durable.database; tau creates its tables, not the database.',
    userError: true,
  },
})
