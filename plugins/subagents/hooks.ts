/**
 * Hooks of the subagents plugin (`subagents.*`), declared here until the agent declares them.
 * Names follow Claude Code's SubagentStart / SubagentStop events.
 */
import { type AsyncSeriesHook, defineHooks } from '../../kernel/index.js'

export interface SubagentStart {
  /** The parent session. */
  readonly sessionId: string
  /** The parent's Task call. */
  readonly toolCallId: string
  /** The child session's id. */
  readonly agentSessionId: string
  readonly agentType: string
  readonly description: string
  readonly prompt: string
  readonly model: string
  /** The tools the child can call. */
  readonly tools: readonly string[]
}

export interface SubagentStop {
  readonly sessionId: string
  readonly toolCallId: string
  readonly agentSessionId: string
  readonly agentType: string
  readonly stopReason: string
  readonly isError: boolean
  /** The child's final report. */
  readonly text: string
}

export interface SubagentHooks {
  /** Before the child's run starts; a tap that throws stops the Task call with an error result. */
  readonly subagentStart: AsyncSeriesHook<[SubagentStart]>
  /** After the child's run ended, whatever the outcome (end-turn, error, aborted ...). */
  readonly subagentStop: AsyncSeriesHook<[SubagentStop]>
}

export const subagentHooksRef = defineHooks<SubagentHooks>('subagents')
