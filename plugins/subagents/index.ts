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
import { providerRegistryRef } from '../providers/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { trustOf } from '../trust/index.js'
import {
  type AgentDefinition,
  type DefinitionProblem,
  GENERAL_PURPOSE,
  readAgentDirectory,
} from './definitions.js'
import { type SubagentHooks, subagentHooksRef } from './hooks.js'
import { configuredAliases } from './model-alias.js'
import { Semaphore } from './semaphore.js'
import { createTaskTool } from './task-tool.js'

export {
  type AgentDefinition,
  type ChildModel,
  type ChildModelOptions,
  childModel,
  type DefinitionProblem,
  GENERAL_PURPOSE,
  type ModelProviders,
  parseAgentFile,
  readAgentDirectory,
} from './definitions.js'
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
})

/** An agent's name: letters, digits, `-`, `_`. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/** Agent definitions by name: the config's `subagents.agents`, and `tau start --agents JSON`. */
const agentRecord = z.record(z.string().regex(AGENT_NAME), agentDefinitionConfig)

/**
 * `--agents JSON` among `tau start`'s arguments (Claude Code's flag), checked with the config's
 * schema; a bad value is a usage error naming the flag and the field.
 */
export function cliAgents(argv: readonly string[]): z.infer<typeof agentRecord> {
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
    Object.assign(out, parsed.data)
  }
  return out
}

export const subagentsConfig = z.strictObject({
  /** Agent definitions by name; they win over agent files of the same name. */
  agents: agentRecord.default({}),
  /** Task calls running at once, over all sessions; more wait for a slot. */
  maxParallel: z.number().int().min(1).default(4),
  /** Model calls per child run (default: `agent.maxTurns`). */
  maxTurns: z.number().int().positive().optional(),
  /** Read `<tauHome>/agents/*.md` and `~/.claude/agents/*.md`. */
  user: z.boolean().default(true),
})
export type SubagentsConfig = z.infer<typeof subagentsConfig>

export interface SubagentCatalog {
  /** The agent definitions, first of each name wins: --agents, config, project, user, built-in. */
  list(): readonly AgentDefinition[]
  /** Agent files that were refused (bad frontmatter, ---js, no description). */
  problems(): readonly DefinitionProblem[]
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
    const none = { agents: [] as AgentDefinition[], problems: [] as DefinitionProblem[] }
    // Project files, tau's before Claude Code's (as with settings), then the user's.
    const [tauProject, claudeProject, tauUser, claudeUser] = await Promise.all([
      readAgentDirectory(join(projectDir, '.tau', 'agents'), 'project'),
      readAgentDirectory(join(projectDir, '.claude', 'agents'), 'project'),
      ctx.config.user ? readAgentDirectory(join(tauHome, 'agents'), 'user') : none,
      ctx.config.user ? readAgentDirectory(join(claudeHome, 'agents'), 'user') : none,
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
    const defined = [
      ...Object.entries(cliAgents(ctx.argv)).map(([name, agent]) => ({ name, agent, source: 'flag' })),
      ...Object.entries(ctx.config.agents).map(([name, agent]) => ({ name, agent, source: 'config' })),
    ]
    const fromConfig: AgentDefinition[] = defined.map(({ name, agent, source }) => ({
      name,
      description: agent.description,
      ...(agent.tools ? { tools: agent.tools } : {}),
      ...(agent.model ? { model: agent.model } : {}),
      prompt: agent.prompt,
      source,
    }))
    const agents: AgentDefinition[] = []
    for (const agent of [...fromConfig, ...project.agents, ...user.agents, GENERAL_PURPOSE]) {
      if (agents.some((a) => a.name === agent.name)) {
        ctx.logger.debug(`agent '${agent.name}' from ${agent.file ?? agent.source} is shadowed`)
      } else agents.push(agent)
    }
    const problems = [...project.problems, ...user.problems]
    for (const problem of problems) ctx.logger.warn(`agent file ${problem.file} skipped: ${problem.message}`)
    ctx.provide(subagentCatalogRef, { list: () => agents, problems: () => problems })

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
    const unregister = registry.register(
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
            env: process.env,
            ...(providers ? { providers } : {}),
          }
        },
      }),
      ctx.name,
    )
    return () => {
      unregister()
    }
  },
})
