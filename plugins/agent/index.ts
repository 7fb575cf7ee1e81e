/**
 * `agent`: the agentic loop. Declares the agent hooks (sessionStart, userPromptSubmit,
 * systemPrompt, beforeModelCall, afterModelCall, preToolUse, postToolUse, postToolUseFailure,
 * stop, preCompact, sessionEnd, notification) and provides `agent.runtime`, whose sessions run
 * the loop and yield the one AgentEvent stream every frontend consumes.
 *
 * Programs that embed tau use `createAgent()` (sdk/create-agent.ts, the package's `tau/agent`),
 * which sits above the presets: this plugin never imports them.
 */

import agentPlugin from './plugin.js'

export { type AgentConfig, agentConfig } from './config.js'
export { AGENT_ERRORS } from './errors.js'
export { EventChannel } from './event-channel.js'
export type { AgentEvent, AgentEventType, StopReason, Todo } from './events.js'
export * from './hooks.js'
export {
  type AuthorizationRequest,
  type ElicitationAnswer,
  type ElicitationRequest,
  interactionOf,
  NOBODY_TO_ASK,
  type PlanApproval,
  type PlanApprovalRequest,
  type SamplingConfirmation,
  type SamplingDecision,
  type SessionInteraction,
  sessionInteraction,
  type UserInteraction,
} from './interaction.js'
export {
  INTERRUPTED_CALL_TEXT,
  type InterruptedRun,
  type LogEntry,
  type LogEntryType,
  UNSTARTED_CALL_TEXT,
} from './log.js'
export {
  type AgentRuntime,
  type AgentSession,
  type AgentSessionOptions,
  type AskPermission,
  agentRuntimeRef,
  type PermissionAnswer,
  type PermissionRequest,
  type RunOptions,
  type SessionParent,
  type SpentBefore,
} from './runtime.js'
export { type GitFacts, gitFacts } from './system-prompt.js'
export { type AgentToolContext, type AgentToolLink, agentLinkOf } from './tool-link.js'

// A plain default export, not `export { default } from`: loaded from source as CommonJS (jiti),
// a re-export is a getter that throws when the package entry reads it mid-cycle.
export default agentPlugin
