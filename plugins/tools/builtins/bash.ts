/**
 * Bash: runs a shell command through the session's environment (`ctx.env.exec`), which runs it in
 * its own process group with an allowlisted environment and kills the whole group on timeout or
 * abort. The working directory persists between calls (kept in the tool state under `bash.cwd`);
 * shell variables do not, as in Claude Code.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { ExecResult } from '../../sandbox/index.js'
import { defineTool } from '../registry.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { startBackground } from './background-shells.js'
import { areDefaults, builtJsonSchema } from './defaults.js'

/** The tool-state key holding the session's Bash working directory. */
export const BASH_CWD_KEY = 'bash.cwd'

export interface BashToolOptions {
  /** Timeout when the call gives none. Default 2 minutes. */
  readonly defaultTimeoutMs?: number
  /** The largest timeout a call may ask for. Default 10 minutes. */
  readonly maxTimeoutMs?: number
  /** Output longer than this is cut in the middle (head and tail kept). Default 30 000 characters. */
  readonly maxOutputChars?: number
  /** At most one progress report per this many ms. Default 250. */
  readonly progressIntervalMs?: number
}

const DEFAULTS = {
  defaultTimeoutMs: 120_000,
  maxTimeoutMs: 600_000,
  maxOutputChars: 30_000,
  progressIntervalMs: 250,
} as const

/** Progress reports carry at most this much of the newest output. */
const PROGRESS_MAX_LINES = 20
const PROGRESS_MAX_CHARS = 2_000

const describeTool = (
  s: Required<BashToolOptions>,
) => `Runs a shell command (bash when installed, else sh) in the workspace and returns its output.

- The working directory persists between calls: \`cd sub\` in one call and the next call starts in sub. A cd that leaves the workspace is not kept. Shell variables, aliases and functions do not persist.
- Quote paths that contain spaces. Prefer absolute paths or one command with &&, rather than many calls.
- timeout is in milliseconds (default ${s.defaultTimeoutMs}, at most ${s.maxTimeoutMs}). On timeout or cancel the command and every process it started is killed.
- stdout and stderr are returned together; output over ${s.maxOutputChars} characters is cut in the middle. A non-zero exit code makes the result an error.
- The command gets no stdin and a reduced environment (no API keys or tokens).
- run_in_background: true starts the command and returns at once with a shell id; read its output with BashOutput and stop it with KillShell. It keeps running across turns (no timeout) until it ends, is killed, or the session ends. Use it for servers and long builds; no need to add & yourself.
- Prefer the dedicated tools (Read, Edit, Write, Glob, Grep, LS) over cat, sed, find and grep.`

export function createBashTool(options: BashToolOptions = {}): Tool<BashInput> {
  const settings = { ...DEFAULTS, ...options }
  const input = z.object({
    command: z.string().min(1).describe('The command to run'),
    timeout: z
      .number()
      .int()
      .positive()
      .max(settings.maxTimeoutMs)
      .optional()
      .describe(
        `Timeout in milliseconds (default ${settings.defaultTimeoutMs}, at most ${settings.maxTimeoutMs})`,
      ),
    description: z
      .string()
      .optional()
      .describe("What the command does, in 5-10 words (e.g. 'Run the unit tests')"),
    run_in_background: z
      .boolean()
      .optional()
      .describe('Run the command in the background and return at once; read its output with BashOutput'),
  })
  return defineTool({
    name: 'Bash',
    jsonSchema: areDefaults(settings, DEFAULTS) ? builtJsonSchema('Bash') : undefined,
    description: describeTool(settings),
    input,
    annotations: { readOnly: false, destructive: true, openWorld: true },
    permissionTarget: (call) => call.command,
    execute: (call, ctx) => runBash(call, ctx, settings),
  })
}

export interface BashInput {
  command: string
  timeout?: number | undefined
  description?: string | undefined
  run_in_background?: boolean | undefined
}

/** The Bash tool with its defaults. */
export const bashTool = createBashTool()

async function runBash(
  call: BashInput,
  ctx: ToolContext,
  settings: Required<BashToolOptions>,
): Promise<ToolOutput> {
  const notes: string[] = []
  const cwd = await currentCwd(ctx, notes)
  const timeoutMs = Math.min(call.timeout ?? settings.defaultTimeoutMs, settings.maxTimeoutMs)
  if (ctx.signal.aborted) {
    return errorOutput('Command was not started: the turn was cancelled.', { command: call.command, cwd })
  }

  if (call.run_in_background) {
    try {
      return startBackground(ctx, {
        command: call.command,
        script: wrapBackgroundCommand(call.command),
        cwd,
        maxOutputChars: settings.maxOutputChars,
        askNetwork: ctx.askNetwork,
      })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      return errorOutput(`Command could not be run: ${message}`, { command: call.command, cwd })
    }
  }

  const marker = `__TAU_CWD_${randomBytes(8).toString('hex')}__`
  const progress = new ProgressReporter(ctx, marker, settings.progressIntervalMs)
  let result: ExecResult
  try {
    result = await ctx.env.exec(wrapCommand(call.command, marker), {
      cwd,
      timeoutMs,
      signal: ctx.signal,
      onOutput: (chunk) => progress.push(chunk),
      ...(ctx.askNetwork ? { onNetworkRequest: ctx.askNetwork } : {}),
    })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return errorOutput(`Command could not be run: ${message}`, { command: call.command, cwd })
  } finally {
    progress.stop()
  }

  const { output: stdout, cwd: reportedCwd } = splitMarker(result.stdout, marker)
  let output = stdout
  if (result.stderr.length > 0) output += (output && !output.endsWith('\n') ? '\n' : '') + result.stderr
  output = output.replace(/\n+$/, '')

  let finalCwd = cwd
  if (reportedCwd && reportedCwd !== cwd) {
    const inside = await ctx.env.resolvePath(reportedCwd).catch(() => undefined)
    if (inside !== undefined) {
      finalCwd = inside
      ctx.state.set(BASH_CWD_KEY, finalCwd)
    } else {
      notes.push(
        `The command changed directory to ${reportedCwd}, which is outside the workspace; the working directory stays ${cwd}.`,
      )
    }
  }

  const truncated = truncateMiddle(output, settings.maxOutputChars)
  const parts = [truncated.text.length > 0 ? truncated.text : '(no output)']
  let isError = false
  if (!result.timedOut && !result.aborted && result.exitCode !== null && result.exitCode !== 0) {
    // Claude Code's form, which models and scripts expect: the code first, then what it printed.
    isError = true
    parts[0] =
      truncated.text.length > 0
        ? `Exit code ${result.exitCode}\n${truncated.text}`
        : `Exit code ${result.exitCode}`
  } else if (result.timedOut) {
    isError = true
    parts.push(`Command timed out after ${timeoutMs} ms; it was killed with every process it started.`)
  } else if (result.aborted) {
    isError = true
    parts.push('Command was cancelled; it was killed with every process it started.')
  } else if (result.exitCode === null) {
    isError = true
    parts.push(`Command was terminated by signal ${result.signal ?? 'unknown'}.`)
  }
  parts.push(...notes)

  return {
    content: [{ type: 'text', text: parts.join('\n\n') }],
    ...(isError ? { isError: true } : {}),
    // Claude Code's Bash result (hooks' tool_response, -p's tool_use_result), each stream capped.
    structured: {
      stdout: truncateMiddle(stdout.replace(/\n+$/, ''), settings.maxOutputChars).text,
      stderr: truncateMiddle(result.stderr.replace(/\n+$/, ''), settings.maxOutputChars).text,
      interrupted: result.timedOut || result.aborted,
      isImage: false,
    },
    display: {
      command: call.command,
      ...(call.description ? { description: call.description } : {}),
      exitCode: result.exitCode,
      cwd: finalCwd,
      timedOut: result.timedOut,
      aborted: result.aborted,
      truncated: truncated.omittedChars > 0,
      durationMs: result.durationMs,
    },
  }
}

/** The session's working directory; falls back to the environment's when the kept one is gone. */
async function currentCwd(ctx: ToolContext, notes: string[]): Promise<string> {
  const kept = ctx.state.get<string>(BASH_CWD_KEY)
  if (kept === undefined) return ctx.env.cwd
  try {
    const stat = await ctx.env.stat(kept)
    if (stat.type === 'directory') return kept
  } catch {
    // gone, or no longer inside the workspace: fall through
  }
  ctx.state.set(BASH_CWD_KEY, ctx.env.cwd)
  notes.push(`The working directory ${kept} no longer exists; it was reset to ${ctx.env.cwd}.`)
  return ctx.env.cwd
}

/**
 * The script the environment runs. bash when it is installed (commands written for Claude Code
 * assume bash), else sh; `exec` keeps the same process, so the environment's process-group kill
 * still reaches everything. stderr is merged into stdout so the two keep their order; stdin is
 * empty so nothing waits for input. An EXIT trap reports the final directory on fd 3 (a copy of
 * stdout the command does not redirect), also when the command calls `exit`.
 */
export function wrapCommand(command: string, marker: string): string {
  const script = [
    'exec 3>&1 2>&1 </dev/null',
    `trap '__tau_status=$?; printf "\\n%s%s\\n" "${marker}" "$(pwd -P)" >&3; exit $__tau_status' EXIT`,
    command,
  ].join('\n')
  const quoted = `'${script.replaceAll("'", `'\\''`)}'`
  return `if command -v bash >/dev/null 2>&1; then exec bash -c ${quoted}; else exec sh -c ${quoted}; fi`
}

/** The script a background command runs: as wrapCommand, without the directory report. */
export function wrapBackgroundCommand(command: string): string {
  const script = ['exec 2>&1 </dev/null', command].join('\n')
  const quoted = `'${script.replaceAll("'", `'\\''`)}'`
  return `if command -v bash >/dev/null 2>&1; then exec bash -c ${quoted}; else exec sh -c ${quoted}; fi`
}

/** Takes the directory report out of the output. Output printed after it (a background child) is kept. */
export function splitMarker(stdout: string, marker: string): { output: string; cwd?: string } {
  const at = stdout.lastIndexOf(`\n${marker}`)
  if (at < 0) return { output: stdout }
  const lineStart = at + 1 + marker.length
  const lineEnd = stdout.indexOf('\n', lineStart)
  const cwd = stdout.slice(lineStart, lineEnd < 0 ? undefined : lineEnd)
  const after = lineEnd < 0 ? '' : stdout.slice(lineEnd + 1)
  return { output: stdout.slice(0, at) + (after ? `\n${after}` : ''), ...(cwd ? { cwd } : {}) }
}

export interface Truncated {
  readonly text: string
  readonly omittedChars: number
  readonly omittedLines: number
}

/** Cuts text longer than maxChars in the middle, at line breaks where possible, with a note. */
export function truncateMiddle(text: string, maxChars: number): Truncated {
  if (text.length <= maxChars) return { text, omittedChars: 0, omittedLines: 0 }
  const half = Math.floor(maxChars / 2)
  let headEnd = half
  const headBreak = text.lastIndexOf('\n', half)
  if (headBreak > half * 0.8) headEnd = headBreak + 1
  let tailStart = text.length - half
  const tailBreak = text.indexOf('\n', tailStart)
  if (tailBreak >= 0 && tailBreak < text.length - half * 0.8) tailStart = tailBreak + 1
  const omitted = text.slice(headEnd, tailStart)
  let omittedLines = 0
  for (let i = omitted.indexOf('\n'); i >= 0; i = omitted.indexOf('\n', i + 1)) omittedLines++
  const note = `\n... [${omitted.length} characters (${omittedLines} lines) omitted from the middle of the output] ...\n`
  return {
    text: text.slice(0, headEnd) + note + text.slice(tailStart),
    omittedChars: omitted.length,
    omittedLines,
  }
}

function errorOutput(text: string, display: Record<string, unknown>): ToolOutput {
  return { content: [{ type: 'text', text }], isError: true, display }
}

/**
 * Reports output lines through ctx.progress: at once for the first, then at most once per
 * interval with the lines gathered since (the newest ones when there are many).
 */
class ProgressReporter {
  private partial = ''
  private pending: string[] = []
  private lines = 0
  private last = 0
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly ctx: ToolContext,
    private readonly marker: string,
    private readonly intervalMs: number,
  ) {}

  push(chunk: string): void {
    if (this.stopped) return
    const text = this.partial + chunk
    const parts = text.split('\n')
    this.partial = parts.pop() ?? ''
    // A long line without a break still shows up.
    if (this.partial.length > PROGRESS_MAX_CHARS) {
      parts.push(this.partial)
      this.partial = ''
    }
    for (const line of parts) {
      if (line.includes(this.marker) || line.includes('__TAU_CWD_')) continue
      this.pending.push(line)
      this.lines++
    }
    if (this.pending.length > PROGRESS_MAX_LINES) this.pending = this.pending.slice(-PROGRESS_MAX_LINES)
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.timer) return
    const wait = this.last + this.intervalMs - Date.now()
    if (wait <= 0) {
      this.flush()
      return
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flush()
    }, wait)
    this.timer.unref?.()
  }

  private flush(): void {
    if (this.stopped || this.pending.length === 0) return
    let message = this.pending.join('\n')
    if (message.length > PROGRESS_MAX_CHARS) message = message.slice(-PROGRESS_MAX_CHARS)
    this.pending = []
    this.last = Date.now()
    this.ctx.progress(message, { lines: this.lines })
  }
}
