/** The session-postgres plugin's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const POSTGRES_ERRORS = defineErrors('session-postgres', {
  TAU_POSTGRES_UNAVAILABLE: {
    title: 'The PostgreSQL database cannot be reached or used',
    hint: 'Check the URL (durable.database, session-postgres.database or TAU_DATABASE_URL), that the server runs and accepts the user, and that the `pg` package is installed (npm install pg).',
    userError: true,
  },
  TAU_POSTGRES_SCHEMA_NEWER: {
    title: 'The database was migrated by a newer tau',
    hint: 'Its tau tables are at a schema version this tau does not know: upgrade tau on this host (every worker of one database runs the same or a newer tau).',
    userError: true,
  },
})
