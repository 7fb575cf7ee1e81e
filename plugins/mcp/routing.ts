/**
 * Which session a server's question is for. MCP has no field tying a server's elicitation,
 * sampling request or login to the tools/call it happens in, so a connection keeps its calls in
 * flight together with the session that made each (the agent's tool link carries the session's
 * UserInteraction), and asks the one session whose calls are in flight. With none (a server asking
 * between calls) or calls of several sessions (tau cannot tell which one the server means), the
 * answer is a refusal that says why: a question never reaches a session it was not for.
 */
import { agentLinkOf, type SessionInteraction } from '../agent/index.js'
import type { ToolContext } from '../tools/index.js'

/** A call in flight: its progress callback and who made it. */
export interface CallRoute {
  readonly progress: ToolContext['progress']
  readonly sessionId: string
  /** The session's questions; undefined when the call runs outside an agent session (nobody to ask). */
  readonly interaction: SessionInteraction | undefined
}

export function callRoute(context: ToolContext): CallRoute {
  return {
    progress: context.progress,
    sessionId: context.sessionId,
    interaction: agentLinkOf(context)?.interaction,
  }
}

/** Asked by the one session whose calls are in flight, or refused with the reason. */
export type Asker =
  | { readonly sessionId: string; readonly interaction: SessionInteraction | undefined }
  | { readonly refusal: string }

/** The session a request of `server` is for, among the routes of its calls in flight. */
export function askerOf(server: string, routes: readonly CallRoute[]): Asker {
  const first = routes[0]
  if (!first) return { refusal: `no tau session has a call in flight on the MCP server '${server}'` }
  for (const route of routes) {
    if (route.sessionId !== first.sessionId) {
      return {
        refusal: `calls of several tau sessions are in flight on the MCP server '${server}', so tau cannot tell which session it asks`,
      }
    }
  }
  // The innermost interaction of the session (a subagent's call carries the child's).
  return { sessionId: first.sessionId, interaction: first.interaction }
}
