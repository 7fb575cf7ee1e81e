/**
 * The session's environment as an editor sees it: text files are read and written through the
 * client (`fs/read_text_file`, `fs/write_text_file`), so the model reads unsaved edits and its
 * edits land in the editor's buffers (with undo); commands run in the client's terminals
 * (`terminal/*`), which the editor shows live. Everything else — path resolution, the workspace
 * fence, the sandbox policy, directory listings — stays the sandbox's: the client is asked only
 * after the environment said the path may be read or written.
 */
import { dirname } from 'node:path'
import type { TerminalExitStatus } from '@agentclientprotocol/sdk'
import type {
  Command,
  Environment,
  ExecOptions,
  ExecResult,
  FileStat,
  ProcessHandle,
} from '../sandbox/index.js'

/** What the environment needs of the ACP connection (the session binds its id). */
export interface ClientSide {
  readTextFile?(path: string): Promise<string>
  writeTextFile?(path: string, content: string): Promise<void>
  /** Runs a command in a client terminal; `show` gets its id before it ends (for the tool call). */
  runInTerminal?(request: TerminalRun): Promise<TerminalOutcome>
}

export interface TerminalRun {
  readonly command: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  readonly timeoutMs: number | undefined
  readonly signal: AbortSignal | undefined
}

export interface TerminalOutcome {
  readonly output: string
  readonly exitStatus: TerminalExitStatus | undefined
  readonly timedOut: boolean
  readonly aborted: boolean
}

/** A text file as UTF-8 without NUL bytes: what an editor buffer can hold unchanged. */
function isText(data: Buffer): boolean {
  if (data.includes(0)) return false
  return Buffer.from(data.toString('utf8'), 'utf8').equals(data)
}

export class ClientEnvironment implements Environment {
  constructor(
    private readonly base: Environment,
    private readonly client: ClientSide,
  ) {}

  get kind() {
    return this.base.kind
  }
  get capabilities() {
    return this.base.capabilities
  }
  get roots() {
    return this.base.roots
  }
  get cwd() {
    return this.base.cwd
  }
  resolvePath(path: string): Promise<string> {
    return this.base.resolvePath(path)
  }
  contains(path: string): Promise<boolean> {
    return this.base.contains(path)
  }
  checkAccess(path: string, access: 'read' | 'write'): Promise<string> {
    return this.base.checkAccess ? this.base.checkAccess(path, access) : this.base.resolvePath(path)
  }
  stat(path: string): Promise<FileStat> {
    return this.base.stat(path)
  }
  /** Passed on, so that searches reading the host's disk directly keep the policy's denyRead. */
  get readDenied(): ((realPath: string) => boolean) | undefined {
    const denied = this.base.readDenied
    return denied ? (realPath) => denied.call(this.base, realPath) : undefined
  }
  readdir(path: string) {
    return this.base.readdir(path)
  }
  mkdir(path: string): Promise<void> {
    return this.base.mkdir(path)
  }
  remove(path: string): Promise<void> {
    return this.base.remove(path)
  }
  spawn(command: Command, options?: Omit<ExecOptions, 'input'>): ProcessHandle {
    return this.base.spawn(command, options)
  }
  processEnv(): Record<string, string> {
    return this.base.processEnv()
  }
  dispose(): Promise<void> {
    return this.base.dispose()
  }

  /**
   * The environment reads the file first (fence, policy, not-found, a directory): binary files
   * stay its own answer; a text file is asked of the client, whose buffer may hold unsaved edits.
   */
  async readFile(path: string): Promise<Buffer> {
    const data = await this.base.readFile(path)
    const read = this.client.readTextFile
    if (!read || !this.base.checkAccess || !isText(data)) return data
    const real = await this.base.checkAccess(path, 'read')
    return Buffer.from(await read(real), 'utf8')
  }

  /**
   * Text goes to the client's buffer once the environment's policy allows writing the path; an
   * environment that cannot say so (no checkAccess) writes itself: fail closed.
   */
  async writeFile(path: string, data: string | Buffer): Promise<void> {
    const write = this.client.writeTextFile
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (!write || !this.base.checkAccess || !isText(bytes)) return this.base.writeFile(path, data)
    const real = await this.base.checkAccess(path, 'write')
    const existing = await this.base.stat(real).catch(() => undefined)
    if (existing?.type === 'directory') return this.base.writeFile(path, data) // its own error
    if (!existing) await this.base.mkdir(dirname(real))
    await write(real, bytes.toString('utf8'))
  }

  /** A command in a client terminal (shown live in the editor), or the environment's own. */
  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const run = this.client.runInTerminal
    // stdin text cannot be given to a client terminal: such commands stay the environment's.
    if (!run || options.input !== undefined) return this.base.exec(command, options)
    const cwd = await this.base.resolvePath(options.cwd ?? this.base.cwd)
    const started = performance.now()
    const [file, ...args] = typeof command === 'string' ? ['/bin/sh', '-c', command] : command
    const outcome = await run({
      command: file,
      args,
      cwd,
      env: options.env ?? {},
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    })
    if (outcome.output !== '') options.onOutput?.(outcome.output, 'stdout')
    return {
      exitCode: outcome.exitStatus?.exitCode ?? null,
      signal: outcome.exitStatus?.signal ?? null,
      stdout: outcome.output,
      stderr: '',
      timedOut: outcome.timedOut,
      aborted: outcome.aborted,
      durationMs: Math.round(performance.now() - started),
    }
  }
}
