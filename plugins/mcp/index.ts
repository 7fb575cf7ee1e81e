/**
 * The `mcp` plugin: Model Context Protocol servers as tau tools. Servers come from `mcpServers`
 * in the config and from the project's `.mcp.json`; they connect in parallel at start (the SDK
 * is imported only then), each MCP tool becomes `mcp__<server>__<tool>` in the tool registry,
 * and a server that fails or dies is retried with backoff without stopping tau.
 */
import { join } from 'node:path'
import {
  cliCommandsRef,
  definePlugin,
  defineService,
  type PluginContext,
  tauVersion,
} from '../../kernel/index.js'
import { type AgentHooks, agentHooksRef } from '../agent/index.js'
import { settingsOptions } from '../permissions/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { createEnvAllowlist } from '../sandbox/index.js'
import { slashCommandSourceRef } from '../slash-commands/index.js'
import { sessionToolsRef, toolRegistryRef } from '../tools/index.js'
import { TRUST_HINT, trustOf } from '../trust/index.js'
import { providerSampler } from './client-features.js'
import { mcpCommands } from './commands.js'
import { mcpConfig } from './config.js'
import { resolveMentions } from './mentions.js'
import { OAUTH_DIR } from './oauth-store.js'
import { cliMcpConfig, loadManagedMcp, loadMcpFile, mcpFilePath } from './project-file.js'
import { promptCommandSource } from './prompt-commands.js'
import { applyMcpPolicy, loadMcpPolicy } from './server-policy.js'
import { type McpServers, mergeServers, ServerSet } from './servers.js'
import { sessionServers } from './session-servers.js'
import { renderView, type ServerView, SessionServerIndex, serverView } from './session-view.js'
import { TOOL_CACHE_DIR, ToolCache } from './tool-cache.js'
import { sandboxRoots, WorkspaceRoots } from './workspace-roots.js'

export {
  applyFormDefaults,
  type ElicitationAnswer,
  type ElicitationRequest,
  loggerLevel,
  type McpUserInteraction,
  providerSampler,
  type Root,
  rootsOf,
  type Sampler,
  type SamplingConfirmation,
  type SamplingDecision,
} from './client-features.js'
export type { McpLogLevel, ResolvedServerConfig, ServerConfig } from './config.js'
export { MCP_DEFAULTS, MCP_LOG_LEVELS, mcpConfig } from './config.js'
export type { ServerInfo, ServerStatus, TransportKind } from './connection.js'
export { expandServerConfig, expandString } from './env-vars.js'
export { MCP_ERRORS } from './errors.js'
export { findMentions, MENTION_LIMITS, type Mention, resolveMentions } from './mentions.js'
export {
  type AuthorizationRequest,
  type Authorize,
  CallbackServer,
  isAuthRequired,
  McpAuthRequired,
  TauOAuthProvider,
} from './oauth.js'
export { credentialsFile, OAUTH_DIR, OAuthStore, type StoredCredentials } from './oauth-store.js'
export { editMcpFile, loadMcpFile, MCP_FILE, mcpFilePath, parseMcpFile } from './project-file.js'
export { argumentHint, bindPromptArguments, promptCommandSource, promptText } from './prompt-commands.js'
export type {
  PromptEntry,
  PromptMessages,
  ResourceContents,
  ResourceEntry,
  ResourceListing,
  ResourceTemplateEntry,
} from './resources.js'
export { renderListing, resourceTools } from './resources.js'
export { type LoginResult, type McpServers, mergeServers } from './servers.js'
export { ownServers, type SessionServers, sessionServers } from './session-servers.js'
export { renderView, type ServerView, type SessionServerInfo, serverView } from './session-view.js'
export { mapAnnotations, mapResult, toolName } from './tool-adapter.js'
export { sandboxRoots, WorkspaceRoots } from './workspace-roots.js'

export const mcpServersRef = defineService<McpServers>('mcp.servers', {
  description: 'The MCP servers: transport, status and tools of each.',
})

/** `sandbox.env.allow` from the root config, when the sandbox plugin is there. */
function sandboxEnvAllow(rootConfig: Readonly<Record<string, unknown>>): string[] {
  const sandbox = rootConfig.sandbox as { env?: { allow?: unknown } } | undefined
  const allow = sandbox?.env?.allow
  return Array.isArray(allow) ? allow.filter((v): v is string => typeof v === 'string') : []
}

/**
 * The agent's hooks, when the agent is loaded: sessions open and close the workspace roots
 * servers are told, and `@server:uri` mentions in a prompt are attached (userPromptSubmit).
 */
function tapAgent(
  ctx: PluginContext<unknown>,
  viewOf: (sessionId: string) => ServerView,
  roots: WorkspaceRoots,
  servers: ServerSet,
): boolean {
  let hooks: ReturnType<typeof ctx.hooksOf<AgentHooks>>
  try {
    hooks = ctx.hooksOf(agentHooksRef)
  } catch {
    return false // no agent plugin: no sessions, no prompts to look at
  }
  // Servers offered from the cache connect once the first model call is on its way.
  hooks.beforeModelCall.tap((call) => {
    if (servers.hasDeferred()) setImmediate(() => servers.connectDeferred())
    return call
  })
  hooks.sessionStart.tap((start) => roots.open(start.sessionId, start.cwd))
  hooks.sessionEnd.tap((end) => roots.close(end.sessionId))
  hooks.userPromptSubmit.tapPromise(async (submission) => {
    if (!submission.prompt.includes('@')) return submission
    // The global servers and the session's own (no other session's).
    const view = viewOf(submission.sessionId)
    const names = view.list().map((s) => s.name)
    const { context, notices } = await resolveMentions(submission.prompt, {
      names,
      readResource: (server, uri) => view.readResource(server, uri),
    })
    for (const notice of notices) ctx.logger.warn(notice, { sessionId: submission.sessionId })
    if (context.length === 0) return submission
    return { ...submission, additionalContext: [...(submission.additionalContext ?? []), ...context] }
  })
  return true
}

export default definePlugin({
  name: 'mcp',
  description: 'Model Context Protocol servers (stdio, streamable HTTP, SSE) as tau tools',
  configKey: 'mcpServers',
  dependsOn: ['tools'],
  // trust: the project's .mcp.json servers wait for it (its start tap asks first).
  optionalDependsOn: ['sandbox', 'providers', 'slash-commands', 'agent', 'trust'],
  config: mcpConfig,
  setup(ctx) {
    // --mcp-config servers are the user's own (not gated by trust); --strict-mcp-config: only them.
    const cli = cliMcpConfig(ctx.argv, ctx.paths.cwd)
    // An administrator's managed-mcp.json: its servers are the only ones, in any workspace.
    const managed = loadManagedMcp(ctx.paths.managedSettings)
    const policy = managed && `${managed.files.join(' and ')} lists the only MCP servers tau may start`
    const projectServers = cli.strict ? {} : loadMcpFile(ctx.paths.projectDir)
    const ownConfig = { ...(cli.strict ? {} : ctx.config), ...cli.servers }
    if (managed) {
      const others = [...new Set([...Object.keys(projectServers), ...Object.keys(ownConfig)])]
      if (others.length > 0)
        ctx.logger.warn(`MCP servers ${others.join(', ')} not started by policy: ${policy}`)
    }
    const fromFile = managed ? {} : projectServers
    const fromConfig = managed ? managed.servers : ownConfig
    // The project's .mcp.json servers start only in a trusted workspace (trust may come at start).
    const trust = trustOf(ctx)
    // allowedMcpServers / deniedMcpServers of the settings files (server-policy.ts).
    const serverPolicy = loadMcpPolicy(ctx.paths, settingsOptions(ctx.argv), trust.trusted)
    for (const problem of serverPolicy.problems) ctx.logger.warn(problem)
    const held = Object.keys(fromFile).filter((name) => fromConfig[name] === undefined)
    if (held.length > 0)
      trust.skip(`the MCP servers of ${mcpFilePath(ctx.paths.projectDir)} (${held.join(', ')})`)
    const extraRoots = sandboxRoots(ctx.paths.projectDir, ctx.rootConfig)
    const roots = new WorkspaceRoots(extraRoots, ctx.paths.cwd)
    const model = typeof ctx.rootConfig.model === 'string' ? ctx.rootConfig.model : undefined
    const registry = ctx.resolve(toolRegistryRef)
    const base = {
      plugin: ctx.name,
      logger: ctx.logger,
      projectDir: ctx.paths.projectDir,
      allowlist: createEnvAllowlist(sandboxEnvAllow(ctx.rootConfig)),
      // `${VAR}` values and stdio servers' allowlisted variables: the kernel's env (an embedder's
      // own, or process.env for the tau command), settings' `env` in it.
      env: ctx.env,
      clientInfo: { name: 'tau', version: tauVersion() },
      sampler: providerSampler(ctx.tryResolve(providerRegistryRef), ctx.rootConfig.model),
      ...(model ? { samplingModel: model } : {}),
      oauthDir: join(ctx.paths.tauHome, OAUTH_DIR),
      toolCache: new ToolCache(join(ctx.paths.tauHome, TOOL_CACHE_DIR)),
      signal: ctx.signal,
      // The resource tools list and read the calling session's own servers too.
      resourceSource: (sessionId: string) => viewOf(sessionId),
    }
    const servers = new ServerSet({
      ...base,
      servers: applyMcpPolicy(mergeServers(fromFile, fromConfig, ctx.logger), serverPolicy, (message) =>
        ctx.logger.warn(message),
      ),
      registry,
      roots,
    })
    ctx.provide(mcpServersRef, servers)
    // Each open session's own servers, for what that session sees (/mcp, resources, prompts, mentions).
    const index = new SessionServerIndex()
    const viewOf = (sessionId: string | undefined): ServerView => serverView(servers, index.get(sessionId))
    // A session's own servers (its settings' mcpServers): connected with the session, its tools
    // seen by it alone, closed when it is disposed.
    ctx.provide(
      sessionToolsRef,
      (session) => {
        const own = sessionServers(session, {
          base,
          registry,
          extraRoots,
          globalConfig: ctx.config,
          globalNames: () => servers.list().map((s) => s.name),
          logger: ctx.logger,
          ...(policy ? { policy } : {}),
          serverPolicy,
        })
        if (!own) return undefined
        index.add(session.id, own.servers)
        return {
          ...own,
          close: () => {
            index.remove(session.id, own.servers)
            return own.close()
          },
        }
      },
      (own) => own?.close(),
    )
    for (const command of mcpCommands(servers, ctx.paths.projectDir, ctx.env))
      ctx.provide(cliCommandsRef, command)
    // Prompts of connected servers as /mcp__<server>__<prompt> (read by slash-commands when loaded).
    ctx.provide(slashCommandSourceRef, promptCommandSource(viewOf))
    // /mcp: the servers the session sees, its own marked.
    ctx.provide(slashCommandSourceRef, {
      name: 'mcp status',
      list: () => ({
        commands: [
          {
            name: 'mcp',
            description: "the MCP servers this session sees (the project's and its own): status and tools",
            source: 'mcp',
            async run(_args, context) {
              context.say(renderView(viewOf(context.sessionId).list()))
            },
          },
        ],
        problems: [],
      }),
    })
    const agent = tapAgent(ctx, viewOf, roots, servers)
    ctx.hooks.start.tapPromise(async () => {
      if (!trust.trusted) servers.hold(held, `not started: the workspace is not trusted (${TRUST_HINT})`)
      if (servers.list().some((s) => s.status !== 'disabled')) await servers.start({ deferCached: agent })
    })
    return () => servers.stop()
  },
})
