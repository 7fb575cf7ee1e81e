/**
 * The `subagents` plugin: the `Task` tool, which runs a child agent session with its own
 * conversation, tool subset and (optionally) model, from agent definitions in the config,
 * `<project>/.tau/agents`, `<project>/.claude/agents` (trusted workspaces only), `<tauHome>/agents`
 * and `~/.claude/agents`.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { AsyncSeriesHook, definePlugin, defineService, TauError } from '../../kernel/index.js'
import { agentHooksRef, agentRuntimeRef } from '../agent/index.js'
import { PERMISSION_MODES } from '../permissions/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { trustOf } from '../trust/index.js'
import {
  type AgentDefinition,
  type DefinitionProblem,
  GENERAL_PURPOSE,
  readAgentDirectory,
} from './definitions.js'
import {
  type AgentEnvironment,
  agentEnvironment,
  type EnvironmentSettings,
  environmentTable,
  missingPlugins,
  unknownEnvironment,
} from './environment.js'
import { type SubagentHooks, subagentHooksRef } from './hooks.js'
import { configuredAliases } from './model-alias.js'
import { Semaphore } from './semaphore.js'
import { createTaskTool } from './task-tool.js'

export {
  type AgentDefinition,
  type AgentFileOptions,
  type ChildModel,
  type ChildModelOptions,
  childModel,
  type DefinitionProblem,
  GENERAL_PURPOSE,
  type ModelProviders,
  parseAgentFile,
  readAgentDirectory,
} from './definitions.js'
export {
  type AgentEnvironment,
  agentEnvironment,
  ENVIRONMENT_KEYS,
  ENVIRONMENT_NAME,
  type EnvironmentSettings,
  environmentSettings,
  environmentTable,
  missingPlugins,
  unknownEnvironment,
} from './environment.js'
export { type SubagentHooks, type SubagentStart, type SubagentStop, subagentHooksRef } from './hooks.js'
export {
  type AliasedModel,
  aliasedModel,
  configuredAliases,
  MODEL_ALIASES,
  resolveModel,
} from './model-alias.js'
export { Semaphore } from './semaphore.js'
export { TASK_TOOL, type TaskDisplay, type TaskInput, taskDescription } from './task-tool.js'

/** One agent definition in a config (`subagents.agents`; the orchestrate plugin's hub agents extend it). */
export const agentDefinitionConfig = z.strictObject({
  description: z.string().min(1),
  /** Tool names the agent may call (default: every tool but Task). */
  tools: z.array(z.string()).optional(),
  /** `provider:model`, or `inherit` (default): the parent's model. */
  model: z.string().optional(),
  /** Added to the child's system prompt. */
  prompt: z.string(),
  /** The permission mode of its hub sessions (a Task child runs in its parent's mode). */
  permissionMode: z.enum(PERMISSION_MODES).optional(),
  /**
   * Where its tools run and which MCP servers it has: `{ sandbox, mcpServers }` (merged over the
   * global config) or the name of a named environment. Default: the global environment.
   */
  environment: agentEnvironment.optional(),
})
export type AgentDefinitionConfig = z.infer<typeof agentDefinitionConfig>

/** An agent's name: letters, digits, `-`, `_`. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/** Agent definitions by name: the config's `subagents.agents`, and `tau start --agents JSON`. */
const agentRecord = z.record(z.string().regex(AGENT_NAME), agentDefinitionConfig)

/**
 * `--agents JSON` among `tau start`'s arguments (Claude Code's flag), checked with the config's
 * schema; a bad value is a usage error naming the flag and the field.
 */
export function cliAgents(
  argv: readonly string[],
  environments: Readonly<Record<string, EnvironmentSettings>> = {},
): z.infer<typeof agentRecord> {
  const out: z.infer<typeof agentRecord> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') break
    const value = arg === '--agents' ? argv[++i] : arg.startsWith('--agents=') ? arg.slice(9) : undefined
    if (value === undefined) continue
    const usage = (message: string) =>
      new TauError('TAU_CLI_USAGE', `--agents: ${message}`, { plugin: 'subagents' })
    let data: unknown
    try {
      data = JSON.parse(value)
    } catch (error) {
      throw usage(
        `not valid JSON (${(error as Error).message}); expected {"name": {"description": "...", "prompt": "..."}}`,
      )
    }
    const parsed = agentRecord.safeParse(data)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw usage(`${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`)
    }
    for (const [name, agent] of Object.entries(parsed.data)) {
      if (typeof agent.environment !== 'string') continue
      const why = unknownEnvironment(
        agent.environment,
        environments,
        `the agent '${name}'`,
        'subagents.environments',
      )
      if (why) throw usage(`${name}.environment: ${why}`)
    }
    Object.assign(out, parsed.data)
  }
  return out
}

export const subagentsConfig = z
  .strictObject({
    /** Agent definitions by name; they win over agent files of the same name. */
    agents: agentRecord.default({}),
    /** Named environments agents refer to by name: `{ locked: { sandbox: { mode: 'bwrap' } } }`. */
    environments: environmentTable.default({}),
    /** Task calls running at once, over all sessions; more wait for a slot. */
    maxParallel: z.number().int().min(1).default(4),
    /** Model calls per child run (default: `agent.maxTurns`). */
    maxTurns: z.number().int().positive().optional(),
    /** Read `<tauHome>/agents/*.md` and `~/.claude/agents/*.md`. */
    user: z.boolean().default(true),
  })
  .superRefine((config, ctx) => {
    // A name must be one of `environments`: checked here so a typo fails at config load.
    for (const [name, agent] of Object.entries(config.agents)) {
      if (typeof agent.environment !== 'string') continue
      const why = unknownEnvironment(
        agent.environment,
        config.environments,
        `the agent '${name}'`,
        'subagents.environments',
      )
      if (why) ctx.addIssue({ code: 'custom', path: ['agents', name, 'environment'], message: why })
    }
  })
export type SubagentsConfig = z.infer<typeof subagentsConfig>

export interface SubagentCatalog {
  /** The agent definitions, first of each name wins: --agents, config, project, user, built-in. */
  list(): readonly AgentDefinition[]
  /** Agent files that were refused (bad frontmatter, ---js, no description, a bad environment). */
  problems(): readonly DefinitionProblem[]
  /** The named environments (`subagents.environments`). */
  environments(): Readonly<Record<string, EnvironmentSettings>>
  /**
   * Adds definitions of another plugin (the orchestrate plugin's hub agents), during setup: they
   * win over every other source, and the Task tool can start them. Their environments are
   * resolved already (settings, not names).
   */
  define(definitions: readonly AgentDefinition[]): void
}

/** A config agent (`subagents.agents`, `--agents`) as a definition, its named environment resolved. */
export function definitionOf(
  name: string,
  agent: AgentDefinitionConfig,
  source: string,
  environments: Readonly<Record<string, EnvironmentSettings>>,
): AgentDefinition {
  const environment = environmentSettingsOf(agent.environment, environments)
  return {
    name,
    description: agent.description,
    ...(agent.tools ? { tools: agent.tools } : {}),
    ...(agent.model ? { model: agent.model } : {}),
    prompt: agent.prompt,
    ...(agent.permissionMode ? { permissionMode: agent.permissionMode } : {}),
    ...(environment ? { environment } : {}),
    ...(typeof agent.environment === 'string' ? { environmentName: agent.environment } : {}),
    source,
  }
}

/** An environment's settings: the named one (checked to exist at load), or the one written in place. */
function environmentSettingsOf(
  environment: AgentEnvironment | undefined,
  environments: Readonly<Record<string, EnvironmentSettings>>,
): EnvironmentSettings | undefined {
  return typeof environment === 'string' ? (environments[environment] ?? {}) : environment
}

function environmentPluginsMissing(lines: readonly string[]): TauError {
  return new TauError(
    'TAU_CONFIG_INVALID',
    lines.length === 1
      ? `${lines[0]}: not loaded, so no session could run in this environment`
      : `${lines.length} environments set keys of plugins that are not loaded`,
    {
      plugin: 'subagents',
      hint: 'Add the plugin named (to the preset or plugins), or drop the key from the environment.',
      ...(lines.length > 1 ? { details: [...lines] } : {}),
    },
  )
}

export const subagentCatalogRef = defineService<SubagentCatalog>('subagents.catalog', {
  description: 'Agent definitions the Task tool can start.',
})

export default definePlugin({
  name: 'subagents',
  description: 'The Task tool: child agent sessions with their own conversation, tools and model',
  dependsOn: ['agent', 'tools'],
  optionalDependsOn: ['trust', 'providers'],
  config: subagentsConfig,
  async setup(ctx) {
    const hooks = ctx.declareHooks<SubagentHooks>(subagentHooksRef, {
      subagentStart: new AsyncSeriesHook(['context']),
      subagentStop: new AsyncSeriesHook(['context']),
    })
    const { projectDir, tauHome, claudeHome } = ctx.paths
    const environments = ctx.config.environments
    const none = { agents: [] as AgentDefinition[], problems: [] as DefinitionProblem[] }
    const options = { environments }
    // Project files, tau's before Claude Code's (as with settings), then the user's.
    const [tauProject, claudeProject, tauUser, claudeUser] = await Promise.all([
      readAgentDirectory(join(projectDir, '.tau', 'agents'), 'project', options),
      readAgentDirectory(join(projectDir, '.claude', 'agents'), 'project', options),
      ctx.config.user ? readAgentDirectory(join(tauHome, 'agents'), 'user', options) : none,
      ctx.config.user ? readAgentDirectory(join(claudeHome, 'agents'), 'user', options) : none,
    ])
    // A cloned repository's agent files choose models and prompts: they count once the
    // workspace is trusted (as its hooks and allow rules do); trusted at the terminal's
    // question, from the next start.
    let project = {
      agents: [...tauProject.agents, ...claudeProject.agents],
      problems: [...tauProject.problems, ...claudeProject.problems],
    }
    const trust = trustOf(ctx)
    if (!trust.trusted && (project.agents.length > 0 || project.problems.length > 0)) {
      const files = [...project.agents.map((a) => a.file ?? a.name), ...project.problems.map((p) => p.file)]
      trust.skip(
        `the project's agent files (${files.map((file) => file.slice(projectDir.length + 1)).join(', ')})`,
      )
      project = none
    }
    const user = {
      agents: [...tauUser.agents, ...claudeUser.agents],
      problems: [...tauUser.problems, ...claudeUser.problems],
    }
    // --agents first: the command line wins over the config, as it does over files.
    const fromConfig: AgentDefinition[] = [
      ...Object.entries(cliAgents(ctx.argv, environments)).map(([name, agent]) =>
        definitionOf(name, agent, 'flag', environments),
      ),
      ...Object.entries(ctx.config.agents).map(([name, agent]) =>
        definitionOf(name, agent, 'config', environments),
      ),
    ]
    // An environment whose plugin is not loaded fails now, not when the agent's first session
    // starts: a config agent or a named environment stops the start, a file is skipped.
    const unloaded: string[] = []
    for (const [name, environment] of Object.entries(environments)) {
      const missing = missingPlugins(environment, ctx.rootConfig)
      if (missing.length > 0) unloaded.push(`subagents.environments.${name}: ${missing.join(', ')}`)
    }
    for (const agent of fromConfig) {
      if (!agent.environment || agent.environmentName) continue
      const missing = missingPlugins(agent.environment, ctx.rootConfig)
      const where = agent.source === 'flag' ? `--agents ${agent.name}` : `subagents.agents.${agent.name}`
      if (missing.length > 0) unloaded.push(`${where}.environment: ${missing.join(', ')}`)
    }
    if (unloaded.length > 0) throw environmentPluginsMissing(unloaded)
    const problems = [...project.problems, ...user.problems]
    const files = [...project.agents, ...user.agents].filter((agent) => {
      const missing = agent.environment ? missingPlugins(agent.environment, ctx.rootConfig) : []
      if (missing.length === 0) return true
      problems.push({
        file: agent.file ?? agent.name,
        message: `field 'environment': it sets ${missing.join(', ')}, which is not loaded (add the plugin, or drop the key)`,
      })
      return false
    })
    let agents: AgentDefinition[] = []
    const rebuild = (first: readonly AgentDefinition[]) => {
      agents = []
      for (const agent of [...first, ...fromConfig, ...files, GENERAL_PURPOSE]) {
        if (agents.some((a) => a.name === agent.name)) {
          ctx.logger.debug(`agent '${agent.name}' from ${agent.file ?? agent.source} is shadowed`)
        } else agents.push(agent)
      }
    }
    rebuild([])
    for (const problem of problems) ctx.logger.warn(`agent file ${problem.file} skipped: ${problem.message}`)
    let others: AgentDefinition[] = []

    // The child's system prompt: the agent's built prompt plus the definition's body.
    const childPrompts = new Map<string, AgentDefinition>()
    ctx.hooksOf(agentHooksRef).systemPrompt.tap((prompt) => {
      const definition = childPrompts.get(prompt.sessionId)
      if (!definition) return prompt
      const text = [
        `You are the '${definition.name}' subagent, started through the Task tool by another agent. Your final answer is your report to it.`,
        definition.prompt,
      ]
        .filter((part) => part.trim() !== '')
        .join('\n\n')
      return { ...prompt, sections: [...prompt.sections, { id: 'subagent', text }] }
    })

    const registry = ctx.resolve(toolRegistryRef)
    // The Task tool's description lists the agents, so it is registered again when they change.
    const taskTool = () =>
      createTaskTool({
        agents: () => agents,
        runtime: () => ctx.resolve(agentRuntimeRef),
        registry,
        hooks,
        semaphore: new Semaphore(ctx.config.maxParallel),
        openScope: (options) => ctx.createSession(options),
        childPrompts,
        maxTurns: ctx.config.maxTurns,
        logger: ctx.logger,
        modelOptions: () => {
          const providers = ctx.tryResolve(providerRegistryRef)
          return {
            aliases: configuredAliases(ctx.rootConfig),
            // ANTHROPIC_DEFAULT_*_MODEL and the like: the kernel's env, settings' `env` in it.
            env: ctx.env,
            ...(providers ? { providers } : {}),
          }
        },
      })
    let unregister = registry.register(taskTool(), ctx.name)
    ctx.provide(subagentCatalogRef, {
      list: () => agents,
      problems: () => problems,
      environments: () => environments,
      define(definitions) {
        others = [...definitions, ...others]
        rebuild(others)
        unregister()
        unregister = registry.register(taskTool(), ctx.name)
      },
    })
    return () => {
      unregister()
    }
  },
})
