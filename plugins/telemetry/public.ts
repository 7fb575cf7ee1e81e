/**
 * telemetry's second public file: SpanTracker, which the package's root entry re-exports, kept
 * out of index.ts so that loading the plugin (every start of tau, through the presets) does not
 * initialise the spans or the OpenTelemetry API: setup imports them only when tracing is on.
 * Plugins import index.ts only (test/plugins/public-files.test.ts).
 */
export { SpanTracker } from './spans.js'
