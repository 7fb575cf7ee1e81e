/**
 * The package's root entry (`tau-agent`, and `tau` inside a tau.config.ts): everything a plugin
 * author or an embedder imports. The kernel (definePlugin, defineService, defineHooks, the hook
 * classes, errors, the core types), then each built-in plugin's public file: its service and hook
 * refs, types and helpers (defineTool, toolRegistryRef, agentHooksRef, agentRuntimeRef,
 * environmentRef, providerRegistryRef, sessionServiceRef, permissionsRef, slashCommandsRef, ...),
 * and createAgent. The plugin values themselves are in `tau-agent/plugins`, the presets in
 * `tau-agent/presets`, the test kit in `tau-agent/testing`.
 *
 * Each line re-exports one plugin's index.ts, the only file of a plugin others may use
 * (test/plugins/public-files.test.ts); test/sdk/exports.test.ts fails when a plugin is missing.
 */

// Names two public files share, made explicit (an explicit export wins over `export *`).
export type { StopContext } from '../kernel/index.js'
export * from '../kernel/index.js'
export * from '../plugins/acp/index.js'
export type { StopContext as AgentStopContext } from '../plugins/agent/index.js'
export * from '../plugins/agent/index.js'
export * from '../plugins/command-hooks/index.js'
export * from '../plugins/durable-dbos/index.js'
export * from '../plugins/headless/index.js'
export * from '../plugins/mcp/index.js'
export * from '../plugins/memory/index.js'
export * from '../plugins/orchestrate/index.js'
export * from '../plugins/permissions/index.js'
export { settingsFile } from '../plugins/permissions/index.js'
export * from '../plugins/plan/index.js'
export * from '../plugins/provider-anthropic/index.js'
export * from '../plugins/provider-local/index.js'
export * from '../plugins/provider-ollama/index.js'
export * from '../plugins/provider-openai/index.js'
export * from '../plugins/provider-scripted/index.js'
export * from '../plugins/providers/index.js'
export * from '../plugins/sandbox/index.js'
export * from '../plugins/scaffold/index.js'
// scaffold's scan and templates: its second public file (plugins/scaffold/public.ts).
export * from '../plugins/scaffold/public.js'
export { settingsFile as initSettingsFile } from '../plugins/scaffold/public.js'
export * from '../plugins/serve/index.js'
// serve's implementation values (SessionHub, startServer, ...): its second public file, so that
// loading the plugin does not initialise `tau serve`'s code (plugins/serve/public.ts).
export * from '../plugins/serve/public.js'
export * from '../plugins/session/index.js'
export * from '../plugins/session-controller/index.js'
export * from '../plugins/session-postgres/index.js'
// PostgresTranscriptStore: session-postgres's second public file (loaded when a database is set).
export * from '../plugins/session-postgres/public.js'
export * from '../plugins/skills/index.js'
export * from '../plugins/slash-commands/index.js'
export * from '../plugins/subagents/index.js'
export * from '../plugins/telemetry/index.js'
// SpanTracker: telemetry's second public file (loaded when tracing is on).
export * from '../plugins/telemetry/public.js'
export * from '../plugins/terminal/index.js'
export * from '../plugins/tools/index.js'
export * from '../plugins/trust/index.js'
export { type Agent, type CreateAgentOptions, createAgent } from './create-agent.js'
