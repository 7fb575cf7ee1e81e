/**
 * Runs one command hook: `/bin/sh -c <command>` in its own process group (the sandbox's runner),
 * the event as JSON on stdin, the sandbox's allowlisted environment plus CLAUDE_PROJECT_DIR and
 * TAU_PROJECT_DIR, killed with its whole group at its timeout. Hooks are not tools: they are the
 * user's own commands from their config, so they run beside the session's environment, not in it.
 */
import { runInGroup } from '../sandbox/index.js'

export interface HookProcessOptions {
  readonly cwd: string
  readonly env: Record<string, string>
  readonly timeoutMs: number
  readonly killGraceMs: number
  /** Aborted when the kernel stops. */
  readonly signal: AbortSignal
}

/** What one command did, read the way Claude Code reads it. */
export type HookOutcome =
  /** Exit 0: `json` when stdout is a JSON object, else `text` (possibly empty). */
  | { readonly kind: 'ok'; readonly json?: Record<string, unknown>; readonly text: string }
  /** Exit 0 with stdout that starts like JSON but is not a JSON object. */
  | { readonly kind: 'malformed'; readonly message: string }
  /** Exit 2: blocking; stderr is the reason. */
  | { readonly kind: 'block'; readonly reason: string }
  /** Another exit code, a signal, a spawn failure: a non-blocking error. */
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'timeout'; readonly message: string }

export async function runHookCommand(
  command: string,
  input: unknown,
  options: HookProcessOptions,
): Promise<HookOutcome> {
  let result: Awaited<ReturnType<typeof runInGroup>['result']>
  try {
    result = await runInGroup({
      command,
      cwd: options.cwd,
      env: options.env,
      input: JSON.stringify(input),
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      killGraceMs: options.killGraceMs,
      maxOutputChars: 1024 * 1024,
    }).result
  } catch (error) {
    return { kind: 'error', message: `could not be started: ${(error as Error).message}` }
  }
  const stderr = result.stderr.trim()
  if (result.timedOut) {
    return { kind: 'timeout', message: `timed out after ${options.timeoutMs / 1000} s and was killed` }
  }
  if (result.aborted) return { kind: 'error', message: 'was stopped: tau is shutting down' }
  if (result.exitCode === 2) return { kind: 'block', reason: stderr || 'blocked by a hook (exit code 2)' }
  if (result.exitCode !== 0) {
    const how = result.exitCode === null ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`
    return { kind: 'error', message: stderr ? `${how}: ${stderr}` : how }
  }
  return parseStdout(result.stdout)
}

/** Exit 0: stdout is a JSON object, plain text, or (starting with `{` or `[`) malformed. */
export function parseStdout(stdout: string): HookOutcome {
  const text = stdout.trim()
  if (!text.startsWith('{') && !text.startsWith('[')) return { kind: 'ok', text }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return { kind: 'malformed', message: `its output is not valid JSON (${(error as Error).message})` }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { kind: 'malformed', message: 'its output is JSON but not an object' }
  }
  return { kind: 'ok', json: data as Record<string, unknown>, text: '' }
}
