/**
 * session-postgres's second public file: PostgresTranscriptStore, which the package's root entry
 * re-exports, kept out of index.ts so that loading the plugin (every start of tau, through the
 * presets) does not initialise it: setup imports it only when a database is configured.
 * Plugins import index.ts only (test/plugins/public-files.test.ts).
 */
export { PostgresTranscriptStore } from './postgres-store.js'
