/**
 * The `Task` tool (Claude Code's name and parameters: description, prompt, subagent_type): runs
 * a child agent session for one task and returns its final report.
 */
import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { Logger, Session } from '../../kernel/index.js'
import type { AgentEvent, AgentRuntime, AgentSession, AskPermission } from '../agent/index.js'
import { agentLinkOf } from '../agent/index.js'
import { type CliRules, type Permissions, permissionsRef } from '../permissions/index.js'
import type { Tool, ToolContext, ToolOutput, ToolRegistry } from '../tools/index.js'
import { builtJsonSchema, defineTool } from '../tools/index.js'
import { type AgentDefinition, type ChildModelOptions, childModel, GENERAL_PURPOSE } from './definitions.js'
import type { SubagentHooks } from './hooks.js'
import type { Semaphore } from './semaphore.js'

export const TASK_TOOL = 'Task'

export const taskInput = z.strictObject({
  description: z.string().min(1).describe('A short (3-5 word) description of the task'),
  prompt: z.string().min(1).describe('The task for the agent to perform'),
  // Optional, as in Claude Code: the general-purpose agent by default.
  subagent_type: z
    .string()
    .min(1)
    .optional()
    .describe('The type of specialized agent to use for this task (default: general-purpose)'),
  // Claude Code's aliases (mapped through headless.modelAliases, its env variables, the built-in
  // table), inherit, or a tau ref; a string, so a model that names another gets a clear error.
  model: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Optional model for this agent: sonnet, opus, haiku, inherit (your model) or provider:model. Default: the agent definition's model, else yours",
    ),
})
export type TaskInput = z.infer<typeof taskInput>

/** What frontends get in `tool-end.display` of a Task call. */
export interface TaskDisplay {
  readonly agentType: string
  readonly agentSessionId: string
  readonly stopReason: string
  readonly turns: number
}

export interface TaskDeps {
  readonly agents: () => readonly AgentDefinition[]
  readonly runtime: () => AgentRuntime
  readonly registry: ToolRegistry
  readonly hooks: SubagentHooks
  readonly semaphore: Semaphore
  readonly openScope: (options: {
    id?: string
    cwd?: string
    settings?: Readonly<Record<string, unknown>>
  }) => Session
  /** Child session id -> the agent definition's prompt, for the systemPrompt tap. */
  readonly childPrompts: Map<string, AgentDefinition>
  readonly maxTurns: number | undefined
  readonly logger: Logger
  /** The alias table and providers a Task's `model` is checked against. */
  readonly modelOptions?: () => ChildModelOptions
}

export function taskDescription(agents: readonly AgentDefinition[]): string {
  const list = agents.map(
    (a) => `- ${a.name}: ${a.description}${a.tools ? ` (Tools: ${a.tools.join(', ')})` : ''}`,
  )
  return [
    'Launch a new agent to handle a complex, multi-step task on its own. The agent starts with an empty conversation, works with its own tools and returns one final report, which is all you see of its work: say exactly what it should do and what to report back.',
    '',
    'Available agent types (subagent_type):',
    ...list,
    '',
    'Several Task calls in one message run in parallel. The agent cannot ask you or the user questions.',
  ].join('\n')
}

/**
 * The parent's command-line and session-granted rules: the child's own permissions service loads
 * the same settings files and config, so these are the only rules it would otherwise miss.
 */
function inheritedRules(parent: Permissions | undefined): Required<CliRules> {
  const out = { allow: [] as string[], ask: [] as string[], deny: [] as string[] }
  for (const rule of parent?.rules() ?? []) {
    if (rule.source.scope !== 'cli' && rule.source.scope !== 'session') continue
    out[rule.behavior].push(rule.text)
  }
  return out
}

const BARE_TOOL = /^[A-Za-z][A-Za-z0-9_-]*$/

/** The tool name a `tools` entry stands for (`Bash(git diff:*)` -> `Bash`; the rule part is not an allow rule). */
const toolName = (entry: string): string => entry.replace(/\(.*$/s, '').trim()

function text(output: string, isError = false, display?: TaskDisplay): ToolOutput {
  return {
    content: [{ type: 'text', text: output }],
    ...(isError ? { isError } : {}),
    ...(display ? { display } : {}),
  }
}

/**
 * The child's askPermission: the parent session's. An "allow always" answer is kept by the
 * child's permissions (and its settings file); the parent's session gets the rule too, so the
 * parent and later subagents do not ask again.
 */
function askThroughParent(ask: AskPermission, parent: Permissions | undefined): AskPermission {
  return async (request) => {
    const answer = await ask(request)
    const behavior = typeof answer === 'string' ? answer : answer?.behavior
    if (behavior === 'allow-always' && parent) {
      const rule = (typeof answer === 'object' ? answer.rule : undefined) ?? request.suggestedRule
      // A rule that cannot be kept fails the child's own addRule too, which says so.
      await parent.addRule(rule, 'allow').catch(() => undefined)
    }
    return answer
  }
}

export function createTaskTool(deps: TaskDeps): Tool<TaskInput> {
  return defineTool({
    name: TASK_TOOL,
    description: taskDescription(deps.agents()),
    input: taskInput,
    jsonSchema: builtJsonSchema(TASK_TOOL),
    // Read-only for the permissions service and the loop: the call itself changes nothing, and
    // every call of the child is decided by the same mode and rules as the parent's. It lets
    // several Task calls of one turn run in parallel (capped by subagents.maxParallel).
    annotations: { readOnly: true, openWorld: false, destructive: false },
    execute: (input, ctx) => runTask(deps, input, ctx),
  })
}

async function runTask(deps: TaskDeps, input: TaskInput, ctx: ToolContext): Promise<ToolOutput> {
  const agents = deps.agents()
  const agentType = input.subagent_type ?? GENERAL_PURPOSE.name
  const definition = agents.find((a) => a.name === agentType)
  if (!definition) {
    return text(
      `Error: there is no agent type '${agentType}'. The agent types are: ${agents.map((a) => a.name).join(', ')}.`,
      true,
    )
  }
  const runtime = deps.runtime()
  const parent = runtime.sessions().find((s) => s.id === ctx.sessionId)
  if (!parent)
    return text(`Error: the Task tool runs only inside an agent session (no session ${ctx.sessionId}).`, true)

  const chosen = childModel(definition, parent.model, input.model, deps.modelOptions?.())
  if (!chosen.ok) return text(`Error: ${chosen.error}.`, true)
  if (chosen.note) deps.logger.info(chosen.note)
  const model = chosen.model

  const link = agentLinkOf(ctx)
  const release = await deps.semaphore.acquire(ctx.signal).catch(() => undefined)
  if (!release) return text('Aborted before the subagent started.', true)

  const parentPermissions = parent.permissions
  const registered = deps.registry.list().map((t) => t.name)
  const wanted = definition.tools ? new Set(definition.tools.map(toolName)) : undefined
  const unknown = wanted ? [...wanted].filter((name) => !registered.includes(name)) : []
  if (unknown.length > 0)
    deps.logger.debug(`agent '${definition.name}' names tools that do not exist: ${unknown.join(', ')}`)
  const inherited = inheritedRules(parentPermissions)
  // Tools the parent's bare deny rules take away stay hidden from the child too.
  const denied = new Set(inherited.deny.filter((rule) => BARE_TOOL.test(rule)))
  // Subagents cannot start subagents (as in Claude Code).
  const hidden = registered.filter(
    (name) => name === TASK_TOOL || denied.has(name) || (wanted !== undefined && !wanted.has(name)),
  )
  const tools = registered.filter((name) => !hidden.includes(name))
  const agentSessionId = randomUUID()
  let scope: Session | undefined
  let child: AgentSession | undefined
  try {
    // The agent's environment (sandbox, MCP servers) is the child session's own settings.
    scope = deps.openScope({
      id: agentSessionId,
      cwd: parent.cwd,
      ...(definition.environment ? { settings: definition.environment } : {}),
    })
    deps.childPrompts.set(agentSessionId, definition)
    child = runtime.createSession({
      id: agentSessionId,
      cwd: parent.cwd,
      parent: { sessionId: parent.id, toolCallId: ctx.callId, agentType: definition.name },
      model,
      scope,
      // --include-partial-messages: the child's stream events show too, with its Task call's id.
      ...(parent.streamEvents ? { streamEvents: true } : {}),
      // Hidden from the model and denied; no allowedTools: nothing is allowed that the parent's rules do not allow.
      disallowedTools: hidden,
      ...(parentPermissions ? { permissionMode: parentPermissions.mode } : {}),
      // The parent's frontend is asked (in turn with the parent's questions); a headless parent has
      // nobody to ask, so what would need asking is denied in the child too.
      ...(link?.askPermission
        ? { askPermission: askThroughParent(link.askPermission, parentPermissions) }
        : {}),
      // Its other questions (MCP forms, sampling, logins) go to the parent's frontend too.
      ...(link?.interaction.interactive ? { interaction: link.interaction } : {}),
    })
    const childPermissions = scope.tryResolve(permissionsRef)
    if (childPermissions && !parentPermissions) {
      // The child would have rules the parent runs without: refuse rather than guess.
      return text('Error: the parent session has no permissions service to pass on to the subagent.', true)
    }
    if (childPermissions) {
      childPermissions.setCliRules({
        allow: inherited.allow,
        ask: inherited.ask,
        deny: [...new Set([...inherited.deny, ...hidden])],
      })
    }
    await deps.hooks.subagentStart.promise({
      sessionId: ctx.sessionId,
      toolCallId: ctx.callId,
      agentSessionId,
      agentType: definition.name,
      description: input.description,
      prompt: input.prompt,
      model,
      tools,
    })
    let result: Extract<AgentEvent, { type: 'result' }> | undefined
    for await (const event of child.run(input.prompt, {
      signal: ctx.signal,
      ...(deps.maxTurns !== undefined ? { maxTurns: deps.maxTurns } : {}),
    })) {
      // Into the parent's stream as themselves, tagged with this call's id (the agent does that).
      link?.emit(event)
      if (event.type === 'result') result = event
    }
    const stopReason = result?.stopReason ?? 'error'
    await deps.hooks.subagentStop.promise({
      sessionId: ctx.sessionId,
      toolCallId: ctx.callId,
      agentSessionId,
      agentType: definition.name,
      stopReason,
      isError: result?.isError ?? true,
      text: result?.text ?? '',
    })
    const display: TaskDisplay = {
      agentType: definition.name,
      agentSessionId,
      stopReason,
      turns: result?.turns ?? 0,
    }
    if (!result || result.isError) {
      const why = result?.error ? `${result.error.code}: ${result.error.message}` : stopReason
      const partial = result?.text ? `\n\nIts last text:\n${result.text}` : ''
      return text(`The subagent '${definition.name}' failed (${why}).${partial}`, true, display)
    }
    return text(
      result.text.trim() === '' ? '(the subagent ended without a report)' : result.text,
      false,
      display,
    )
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return text(`Error: the subagent '${definition.name}' could not run: ${message}`, true)
  } finally {
    deps.childPrompts.delete(agentSessionId)
    await child?.close('subagent-done').catch(() => undefined)
    await scope?.dispose().catch(() => undefined)
    release()
  }
}
