/** The `agent` config slice: which model, and the limits of a run. */
import { z } from 'zod'

export const agentConfig = z.strictObject({
  /** `provider:model`. Default: the top-level `model` of the config. */
  model: z.string().min(1).optional(),
  /** Model calls per run before it stops with `max-turns`. */
  maxTurns: z.number().int().positive().default(50),
  /** Token budget of a run: input + output tokens over all its model calls. */
  maxTokens: z.number().int().positive().optional(),
  /** Cost budget of a run in USD, from the model's prices (where known). */
  maxCostUsd: z.number().positive().optional(),
  /** Wall-clock limit of a run in ms. */
  timeoutMs: z.number().int().positive().optional(),
  /** Text appended to the system prompt. */
  systemPrompt: z.string().optional(),
  /** Run the read-only tool calls of one turn in parallel. */
  parallelReadOnly: z.boolean().default(true),
  /** At most this many tool calls at once when they run in parallel. */
  maxParallelTools: z.number().int().min(1).max(64).default(8),
  /** Time limit of the git commands that describe the repository in the system prompt. */
  gitTimeoutMs: z.number().int().positive().default(1500),
})

export type AgentConfig = z.infer<typeof agentConfig>
