/**
 * Background shells: `Bash` with `run_in_background` starts the command through the session
 * environment's spawn() and returns at once; `BashOutput` reads what it printed since the last
 * read, `KillShell` ends it with its process group. The shells are the environment's processes,
 * so they are sandboxed as foreground commands are, and die when the session's environment is
 * disposed (and with tau, through the environment's die-with-parent launcher).
 */
import { z } from 'zod'
import type { ExecResult, NetworkGate, ProcessHandle } from '../../sandbox/index.js'
import { defineTool } from '../registry.js'
import type { Tool, ToolContext, ToolOutput, ToolState } from '../tool.js'
import { errorOutput } from '../tool-paths.js'
import { builtJsonSchema } from './defaults.js'

/** The tool-state key holding the session's background shells. */
export const BACKGROUND_SHELLS_KEY = 'bash.shells'

export type ShellStatus = 'running' | 'completed' | 'failed' | 'killed'

/**
 * Output not read yet, capped as Bash's output is: past the cap the middle is dropped, so the
 * first part and the newest part (the tail) are both kept.
 */
class UnreadOutput {
  private head = ''
  private tail = ''
  private omitted = 0

  constructor(private readonly maxChars: number) {}

  push(text: string): void {
    const half = Math.floor(this.maxChars / 2)
    if (this.omitted === 0 && this.head.length + text.length <= this.maxChars) {
      this.head += text
      return
    }
    if (this.omitted === 0) {
      // First overflow: split what there is into a head and a rolling tail.
      const all = this.head + text
      this.head = all.slice(0, half)
      this.tail = all.slice(half)
    } else {
      this.tail += text
    }
    if (this.tail.length > half) {
      this.omitted += this.tail.length - half
      this.tail = this.tail.slice(-half)
    }
  }

  take(): { text: string; omitted: number } {
    const omitted = this.omitted
    const text =
      omitted > 0
        ? `${this.head}\n... [${omitted} characters omitted from the middle of the output] ...\n${this.tail}`
        : this.head
    this.head = ''
    this.tail = ''
    this.omitted = 0
    return { text, omitted }
  }
}

export class BackgroundShell {
  status: ShellStatus = 'running'
  result: ExecResult | undefined
  private readonly unread: UnreadOutput
  private partial = ''
  /** Settles once the process has ended and its output has been gathered. */
  readonly done: Promise<void>

  constructor(
    readonly id: string,
    readonly command: string,
    private readonly handle: ProcessHandle,
    maxOutputChars: number,
  ) {
    this.unread = new UnreadOutput(maxOutputChars)
    this.done = this.gather()
  }

  private async gather(): Promise<void> {
    try {
      for await (const chunk of this.handle.output) this.unread.push(chunk.text)
    } catch {
      // the process could not be read; wait() says why
    }
    try {
      this.result = await this.handle.wait()
      if (this.status !== 'killed') this.status = this.result.exitCode === 0 ? 'completed' : 'failed'
    } catch (error) {
      if (this.status !== 'killed') this.status = 'failed'
      this.unread.push(`\n${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /** The output since the last read; with a filter, only the lines matching it (the rest is dropped). */
  read(filter?: RegExp): { text: string; omitted: number } {
    const taken = this.unread.take()
    let text = this.partial + taken.text
    this.partial = ''
    if (this.status === 'running') {
      // Keep an unfinished last line for the next read, so a filter sees whole lines.
      const lastBreak = text.lastIndexOf('\n')
      this.partial = text.slice(lastBreak + 1)
      text = text.slice(0, lastBreak + 1)
    }
    text = text.replace(/\n$/, '')
    if (filter && text !== '') {
      text = text
        .split('\n')
        .filter((line) => filter.test(line))
        .join('\n')
    }
    return { text, omitted: taken.omitted }
  }

  kill(): void {
    if (this.status === 'running') this.status = 'killed'
    this.handle.kill()
  }
}

export interface BackgroundShells {
  readonly shells: Map<string, BackgroundShell>
  next: number
}

function shellsOf(state: ToolState): BackgroundShells {
  let shells = state.get<BackgroundShells>(BACKGROUND_SHELLS_KEY)
  if (!shells) {
    shells = { shells: new Map(), next: 1 }
    state.set(BACKGROUND_SHELLS_KEY, shells)
  }
  return shells
}

/** Starts a command in the background (Bash's run_in_background); the result names its shell id. */
export function startBackground(
  ctx: ToolContext,
  options: {
    readonly command: string
    readonly script: string
    readonly cwd: string
    readonly maxOutputChars: number
    readonly askNetwork?: NetworkGate | undefined
  },
): ToolOutput {
  const all = shellsOf(ctx.state)
  const id = `bash_${all.next++}`
  // No signal and no timeout: the command outlives the turn; KillShell or the session's end stops it.
  const handle = ctx.env.spawn(options.script, {
    cwd: options.cwd,
    ...(options.askNetwork ? { onNetworkRequest: options.askNetwork } : {}),
  })
  handle.closeInput()
  const shell = new BackgroundShell(id, options.command, handle, options.maxOutputChars)
  all.shells.set(id, shell)
  return {
    content: [
      {
        type: 'text',
        text: `Started in the background as shell ${id}. Read its output with BashOutput (bash_id "${id}"); stop it with KillShell (shell_id "${id}").`,
      },
    ],
    structured: { stdout: '', stderr: '', interrupted: false, isImage: false, backgroundTaskId: id },
    display: { command: options.command, background: true, shellId: id, cwd: options.cwd },
  }
}

function unknownShell(ctx: ToolContext, id: string): ToolOutput {
  const known = [...shellsOf(ctx.state).shells.keys()]
  return errorOutput(
    `There is no background shell ${JSON.stringify(id)} in this session. ${known.length > 0 ? `Shells: ${known.join(', ')}.` : 'Start one with Bash and run_in_background: true.'}`,
  )
}

export interface BashOutputInput {
  bash_id: string
  filter?: string | undefined
}

export const bashOutputTool: Tool<BashOutputInput> = defineTool({
  name: 'BashOutput',
  jsonSchema: builtJsonSchema('BashOutput'),
  description: `Reads the output of a background shell (started by Bash with run_in_background) printed since the last read, with its status (running, completed, failed, killed) and exit code.

- filter is a JavaScript regular expression: only the lines matching it are returned; the other new lines are dropped.
- Call it again later for more output while the status is running.`,
  input: z.object({
    bash_id: z.string().min(1).describe('The id of the background shell (from Bash)'),
    filter: z
      .string()
      .optional()
      .describe('Only return the new output lines matching this regular expression'),
  }),
  annotations: { readOnly: true },
  execute: async (call, ctx) => {
    const shell = shellsOf(ctx.state).shells.get(call.bash_id)
    if (!shell) return unknownShell(ctx, call.bash_id)
    let filter: RegExp | undefined
    if (call.filter !== undefined && call.filter !== '') {
      try {
        filter = new RegExp(call.filter)
      } catch (error) {
        return errorOutput(
          `filter is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
    }
    const { text } = shell.read(filter)
    const exitCode = shell.status === 'running' ? undefined : shell.result?.exitCode
    const parts = [`<status>${shell.status}</status>`]
    if (exitCode !== undefined && exitCode !== null) parts.push(`<exit_code>${exitCode}</exit_code>`)
    parts.push(text === '' ? '<output>(no new output)</output>' : `<output>\n${text}\n</output>`)
    return {
      content: [{ type: 'text', text: parts.join('\n') }],
      structured: {
        shellId: shell.id,
        command: shell.command,
        status: shell.status,
        exitCode: exitCode ?? null,
        stdout: text,
        stderr: '',
      },
      display: { shellId: shell.id, status: shell.status, exitCode: exitCode ?? null },
    }
  },
})

export interface KillShellInput {
  shell_id: string
}

export const killShellTool: Tool<KillShellInput> = defineTool({
  name: 'KillShell',
  jsonSchema: builtJsonSchema('KillShell'),
  description:
    'Stops a background shell (started by Bash with run_in_background) and every process it started.',
  input: z.object({
    shell_id: z.string().min(1).describe('The id of the background shell to stop'),
  }),
  annotations: { readOnly: false, destructive: true },
  execute: async (call, ctx) => {
    const shell = shellsOf(ctx.state).shells.get(call.shell_id)
    if (!shell) return unknownShell(ctx, call.shell_id)
    if (shell.status !== 'running') {
      return errorOutput(
        `Shell ${shell.id} is not running (it ${shell.status === 'killed' ? 'was killed' : shell.status}).`,
      )
    }
    shell.kill()
    await shell.done
    return {
      content: [{ type: 'text', text: `Killed shell ${shell.id} (${shell.command}).` }],
      structured: { message: `Killed shell ${shell.id}`, shell_id: shell.id },
    }
  },
})
