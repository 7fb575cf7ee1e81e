/**
 * `tau init` with a model configured: the agent writes TAU.md, as Claude Code's `/init` writes
 * CLAUDE.md. The scan's TAU.md is written first (so an agent that fails or is stopped leaves a
 * useful file); then one agent session, limited to reading the project and editing TAU.md, reads
 * the draft and the project and rewrites it. Nothing else is offered to it: no shell, no web.
 */
import type { AgentEvent, AgentRuntime } from '../agent/index.js'

export const AGENT_INIT_PROMPT = `Write TAU.md for this project: the instructions tau (and any coding agent) reads before every session here.

TAU.md now holds a draft from a quick scan of the project's files. Read it, then look at the project itself (its README, manifests, source folders, tests, configuration) with Read, Glob, Grep and LS. Then rewrite TAU.md with the Write tool. Keep it short and specific to this project:
- what the project is, in two or three sentences;
- how to build, test, lint and run it (the exact commands);
- how the code is laid out (the folders that matter and what is in them);
- conventions a contributor has to follow that are not obvious from the code.
Do not invent commands or facts: leave out what you could not check. Write only TAU.md.`

/** Tools the init session may use; everything else is hidden from the model and denied. */
const ALLOWED = ['Read', 'Glob', 'Grep', 'LS', 'Write(./TAU.md)', 'Edit(./TAU.md)']
const OFFERED = new Set(['Read', 'Glob', 'Grep', 'LS', 'Write', 'Edit'])

export interface AgentMemoryResult {
  readonly ok: boolean
  /** What went wrong, for the output (when not ok). */
  readonly error?: string
  readonly turns: number
  /** Whether the agent wrote TAU.md (a successful Write or Edit of it). */
  readonly wrote: boolean
}

export async function writeMemoryByAgent(options: {
  readonly runtime: AgentRuntime
  readonly cwd: string
  readonly model: string
  readonly toolNames: readonly string[]
  readonly signal: AbortSignal
  readonly onTool?: (name: string, target: string) => void
}): Promise<AgentMemoryResult> {
  const session = options.runtime.createSession({
    cwd: options.cwd,
    model: options.model,
    permissionMode: 'default',
    allowedTools: ALLOWED,
    disallowedTools: options.toolNames.filter((name) => !OFFERED.has(name)),
  })
  let wrote = false
  let result: Extract<AgentEvent, { type: 'result' }> | undefined
  const started = new Map<string, { name: string; target: string }>()
  try {
    for await (const event of session.run(AGENT_INIT_PROMPT, { signal: options.signal })) {
      if (event.type === 'tool-start') {
        const input = event.input as { file_path?: unknown; pattern?: unknown; path?: unknown }
        const target = String(input.file_path ?? input.pattern ?? input.path ?? '')
        started.set(event.id, { name: event.name, target })
        options.onTool?.(event.name, target)
      } else if (event.type === 'tool-end') {
        const call = started.get(event.id)
        if (
          call &&
          (call.name === 'Write' || call.name === 'Edit') &&
          /(^|\/)TAU\.md$/.test(call.target) &&
          event.result.isError !== true
        )
          wrote = true
      } else if (event.type === 'result') result = event
    }
  } finally {
    await session.close()
  }
  if (!result) return { ok: false, error: 'the run ended without a result', turns: 0, wrote }
  return {
    ok: !result.isError,
    ...(result.isError ? { error: result.error?.message ?? result.stopReason } : {}),
    turns: result.turns,
    wrote,
  }
}
