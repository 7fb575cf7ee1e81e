/**
 * What the agent adds to the context of each tool it runs, for tools that build on the agent
 * (the subagents plugin's Task tool): a way into the run's one event stream, and the session's
 * way to ask the user. The tools contract (`ToolContext`) knows nothing of the agent, so this
 * rides along as `context.agent`; `agentLinkOf(context)` reads it, and is undefined when the tool
 * runs outside the agent loop (a test calling execute(), another runtime).
 */
import type { ToolContext } from '../tools/index.js'
import type { AgentEvent } from './events.js'
import type { SessionInteraction } from './interaction.js'
import type { AskPermission } from './runtime.js'

export interface AgentToolLink {
  /**
   * Puts an agent event into the run's stream as part of this call, as it is (its own
   * `sessionId`: a subagent's events keep the child's), with `parentToolCallId` set to this call's
   * id unless it has one. Events arrive between the call's `tool-start` and `tool-end`; those
   * emitted after the call ended or the run was aborted are dropped. A `usage` event counts in
   * the run's usage and cost (a subagent's model calls count in the parent's result).
   */
  emit(event: AgentEvent): void
  /**
   * The session's `askPermission`, asked in turn with the session's own questions (one at a
   * time); undefined when nobody can be asked (headless), so whatever needs asking is denied.
   */
  readonly askPermission: AskPermission | undefined
  /** The session's questions to the user (plan approval, MCP), asked in turn with its own. */
  readonly interaction: SessionInteraction
}

/** The context the agent gives a tool: the tools contract plus the link. */
export interface AgentToolContext extends ToolContext {
  readonly agent: AgentToolLink
}

/** The agent's link of a tool context; undefined when the tool does not run in the agent loop. */
export function agentLinkOf(context: ToolContext): AgentToolLink | undefined {
  const link = (context as Partial<AgentToolContext>).agent
  return typeof link === 'object' && link !== null && typeof link.emit === 'function' ? link : undefined
}
