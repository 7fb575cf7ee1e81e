/**
 * The `hooks` config slice: shell-command hooks in the shape of Claude Code's settings files,
 * `{ PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: '...', timeout: 30 }] }] }`.
 * The same shape is read from the `hooks` key of the settings files (see settings.ts).
 */
import { z } from 'zod'
import { compileMatcher } from './matcher.js'

/** The events tau runs command hooks for (Claude Code's names). */
export const HOOK_EVENTS = [
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'UserPromptSubmit',
  'Stop',
  'SessionStart',
  'SessionEnd',
  'Notification',
  'PreCompact',
  /** With the subagents plugin: before a Task call's child runs (its `subagentStart` hook). */
  'SubagentStart',
  /** With the subagents plugin: when a subagent's model answered without tool calls (instead of Stop). */
  'SubagentStop',
] as const

export type HookEventName = (typeof HOOK_EVENTS)[number]

/** Seconds a command may run before its process group is killed (Claude Code's default). */
export const DEFAULT_TIMEOUT_SECONDS = 60

export const hookCommand = z.looseObject({
  type: z.literal('command'),
  /** Run with `/bin/sh -c` in the session's working directory; the event arrives as JSON on stdin. */
  command: z.string().min(1),
  /** Seconds before the command is killed (default 60). */
  timeout: z.number().positive().max(86_400).optional(),
})

/** A matcher, checked when the config is read: a bad regular expression is a config error. */
export const matcherText = z
  .string()
  .optional()
  .superRefine((value, ctx) => {
    try {
      compileMatcher(value)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` })
    }
  })

export const matcherGroup = z.looseObject({
  /**
   * What the event is matched on (the tool name for PreToolUse/PostToolUse): `*`, `''` or left
   * out for everything; letters, digits, `_` and `|` for exact names (`Edit|Write`); anything
   * else is a regular expression (`mcp__.*`).
   */
  matcher: matcherText,
  hooks: z.array(hookCommand),
})

export type HookCommand = z.infer<typeof hookCommand>
export type MatcherGroup = z.infer<typeof matcherGroup>

const events = Object.fromEntries(HOOK_EVENTS.map((name) => [name, z.array(matcherGroup).optional()])) as {
  [K in HookEventName]: z.ZodOptional<z.ZodArray<typeof matcherGroup>>
}

/** The `hooks` config slice; unknown event names are an error here (a typo would never run). */
export const commandHooksConfig = z.strictObject(events).prefault({})

export type CommandHooksConfig = z.infer<typeof commandHooksConfig>
