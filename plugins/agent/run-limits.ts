/**
 * The limits of a run (turns, tokens, cost), counted with what the runs before it spent
 * (RunOptions.spentBefore), and the error of each stop reason that is a limit or an abort.
 */
import type { ErrorCode, Usage } from '../../kernel/index.js'
import type { AgentConfig } from './config.js'
import { AGENT_ERRORS } from './errors.js'
import type { StopReason } from './events.js'
import type { RunOptions } from './runtime.js'

export const ZERO: Usage = { inputTokens: 0, outputTokens: 0 }

export const STOP_ERRORS: Partial<Record<StopReason, ErrorCode>> = {
  'max-turns': AGENT_ERRORS.TAU_AGENT_MAX_TURNS,
  'token-budget': AGENT_ERRORS.TAU_AGENT_TOKEN_BUDGET,
  'cost-budget': AGENT_ERRORS.TAU_AGENT_COST_BUDGET,
  timeout: AGENT_ERRORS.TAU_AGENT_TIMEOUT,
  aborted: AGENT_ERRORS.TAU_AGENT_ABORTED,
}

export interface RunLimits {
  readonly maxTurns: number
  readonly maxTokens: number | undefined
  readonly maxCostUsd: number | undefined
  /** RunOptions.spentBefore: counted against the limits with this run's own counters. */
  readonly before: { readonly turns: number; readonly usage: Usage; readonly costUsd: number }
}

/** The run's options over the agent config. */
export function runLimits(options: RunOptions, config: AgentConfig): RunLimits {
  const before = options.spentBefore
  return {
    maxTurns: options.maxTurns ?? config.maxTurns,
    maxTokens: options.maxTokens ?? config.maxTokens,
    maxCostUsd: options.maxCostUsd ?? config.maxCostUsd,
    before: {
      turns: before?.turns ?? 0,
      usage: before?.usage ?? ZERO,
      costUsd: before?.costUsd ?? 0,
    },
  }
}

/** The limit the run has reached, if any. */
export function limitReached(
  limits: RunLimits,
  turns: number,
  usage: Usage,
  costUsd: number | undefined,
): StopReason | undefined {
  if (limits.before.turns + turns >= limits.maxTurns) return 'max-turns'
  if (limits.maxTokens !== undefined && tokensSpent(limits, usage) >= limits.maxTokens) return 'token-budget'
  if (limits.maxCostUsd !== undefined && costSpent(limits, costUsd) >= limits.maxCostUsd) return 'cost-budget'
  return undefined
}

/** The tokens the limits count: this run's and those of the runs before it (spentBefore). */
export function tokensSpent(limits: RunLimits, usage: Usage): number {
  const before = limits.before.usage
  return before.inputTokens + before.outputTokens + usage.inputTokens + usage.outputTokens
}

export function costSpent(limits: RunLimits, costUsd: number | undefined): number {
  return limits.before.costUsd + (costUsd ?? 0)
}

/** The message of the run's error for a stop reason. */
export function stopMessage(
  limits: RunLimits,
  reason: StopReason,
  usage: Usage,
  costUsd: number | undefined,
): string {
  switch (reason) {
    case 'max-turns':
      return `the run reached its limit of ${limits.maxTurns} turns`
    case 'token-budget':
      return `the run used ${tokensSpent(limits, usage)} tokens, its budget is ${limits.maxTokens}`
    case 'cost-budget':
      return `the run cost $${costSpent(limits, costUsd).toFixed(4)}, its budget is $${limits.maxCostUsd}`
    case 'timeout':
      return 'the run took longer than its time limit'
    case 'aborted':
      return 'the run was aborted'
    default:
      return reason
  }
}
