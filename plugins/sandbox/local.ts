/**
 * The local environment: the machine tau runs on, fenced to the workspace roots. Files through
 * node:fs after every path has been resolved to a real path inside the roots (a write is
 * atomic-write.ts's); processes through `/bin/sh -c` in their own process group with an
 * allowlisted environment.
 */
import { closeSync, fstatSync, openSync } from 'node:fs'
import { lstat, mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Logger } from '../../kernel/index.js'
import { writeInside } from './atomic-write.js'
import { buildProcessEnv, createEnvAllowlist } from './env-allowlist.js'
import {
  type Command,
  type Environment,
  type EnvironmentCapabilities,
  EnvironmentError,
  type EnvironmentKind,
  type ExecOptions,
  type ExecResult,
  type FileStat,
  type OpenedFile,
  type ProcessHandle,
  type SpawnOptions,
} from './environment.js'
import { wrapFsError } from './fs-errors.js'
import { withLauncher } from './launcher.js'
import { LocalOpenedFile, OPEN_FOR_READ, openedPath } from './opened-file.js'
import { type ResolvedPolicy, resolvePolicy, type SandboxPolicy, underAny } from './policy.js'
import { type GroupRunOptions, type RunningProcess, runInGroup } from './process-group.js'
import { onPty, PTY_HELPER } from './pty.js'
import { absoluteFrom, insideRoots, isLinkLoop, realPathOf, realPathSyncOf } from './workspace-paths.js'

export { ptyAvailable } from './pty.js'

export interface LocalEnvironmentOptions {
  /** The session's working directory; always a root. */
  readonly cwd: string
  /** More workspace roots (absolute, or relative to cwd). */
  readonly roots?: readonly string[]
  /** Extra variable names (`NPM_TOKEN`) or prefixes (`AWS_*`) subprocesses may get. */
  readonly envAllow?: readonly string[]
  /** Fixed values every subprocess gets. */
  readonly envSet?: Readonly<Record<string, string>>
  /** The environment to pick from (default: process.env). */
  readonly parentEnv?: NodeJS.ProcessEnv
  /** Between SIGTERM and SIGKILL when a command is ended (default 2000). */
  readonly killGraceMs?: number
  /** Characters of output kept per stream (default 8 MiB); the middle of more is dropped. */
  readonly maxOutputChars?: number
  readonly logger?: Logger
  /**
   * denyRead / denyWrite for the file tools (and, in a sandbox, for processes); allowWrite and
   * network only mean something where processes are confined. Default: the built-in denials only.
   */
  readonly policy?: SandboxPolicy
  /** tau's own directory ($TAU_HOME), never readable from a tool. Default: $TAU_HOME or ~/.tau. */
  readonly tauHome?: string
  /** Run commands under the die-with-tau launcher where one exists (default true). */
  readonly launcher?: boolean
  /** The setpriv binary of that launcher (default: the one pdeathsigLauncher() found). */
  readonly setprivPath?: string
}

const EMPTY_POLICY: SandboxPolicy = {
  filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
  network: { mode: 'none', allowedDomains: [], deniedDomains: [] },
}

/** What a command really runs, and with which variables. */
export interface PreparedCommand {
  readonly argv: readonly string[]
  readonly env: Record<string, string>
  /** It asks on fd 3 whether tau is still there before it runs the command (the sandbox launcher). */
  readonly goAhead?: boolean
  /** Once the command has ended (or failed to start): amends its result, frees what prepare made. */
  readonly after?: (result: ExecResult | undefined) => Promise<ExecResult | undefined>
}

function typeOf(entry: {
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
}): FileStat['type'] {
  if (entry.isFile()) return 'file'
  if (entry.isDirectory()) return 'directory'
  if (entry.isSymbolicLink()) return 'symlink'
  return 'other'
}

export class LocalEnvironment implements Environment {
  readonly kind: EnvironmentKind = 'local'
  readonly capabilities: EnvironmentCapabilities = {
    filesystemIsolation: false,
    network: 'host',
    pty: PTY_HELPER !== undefined,
    filesOnHost: true,
  }
  readonly roots: readonly string[]
  readonly cwd: string
  /** The policy with real paths; what the file tools and a sandbox enforce. */
  readonly policy: ResolvedPolicy
  private readonly env: Record<string, string>
  protected readonly killGraceMs: number
  private readonly maxOutputChars: number | undefined
  private readonly running = new Set<RunningProcess>()
  private readonly launcher: boolean
  private readonly setprivPath: string | undefined
  protected readonly logger: Logger | undefined

  constructor(options: LocalEnvironmentOptions) {
    this.cwd = realPathSyncOf(options.cwd)
    const roots = [this.cwd]
    for (const root of options.roots ?? []) {
      const real = realPathSyncOf(absoluteFrom(this.cwd, root))
      // A root inside another adds nothing.
      if (!roots.includes(real)) roots.push(real)
    }
    this.roots = Object.freeze(roots)
    this.env = buildProcessEnv(
      options.parentEnv ?? process.env,
      createEnvAllowlist(options.envAllow),
      options.envSet,
    )
    // Node's stdio pipes are socketpairs: bash at shell level 1 with a socket for stdin takes
    // itself for a shell run by rshd/sshd and sources ~/.bashrc on every command (seconds, with
    // a heavy rc file). A level of 1 makes every bash a nested one.
    this.env.SHLVL ??= '1'
    this.killGraceMs = options.killGraceMs ?? 2000
    this.maxOutputChars = options.maxOutputChars
    this.logger = options.logger
    this.launcher = options.launcher ?? true
    this.setprivPath = options.setprivPath
    this.policy = resolvePolicy(options.policy ?? EMPTY_POLICY, {
      cwd: this.cwd,
      roots: this.roots,
      ...(options.tauHome !== undefined ? { tauHome: options.tauHome } : {}),
    })
  }

  /** Whether the policy refuses reading a real path (denyRead); the File tools ask this too. */
  readDenied(real: string): boolean {
    return underAny(real, this.policy.denyRead)
  }

  /** Whether the policy refuses writing a real path (denyWrite, or a denied read). */
  writeDenied(real: string): boolean {
    return underAny(real, this.policy.denyWrite) || underAny(real, this.policy.denyRead)
  }

  private checkRead(real: string, path: string): void {
    if (this.readDenied(real)) {
      throw new EnvironmentError(
        'denied',
        path,
        `'${path}' may not be read: the sandbox policy denies reading it (sandbox.filesystem.denyRead, or a` +
          " built-in denial of credentials and tau's own files)",
      )
    }
  }

  private checkWrite(real: string, path: string): void {
    if (this.writeDenied(real)) {
      throw new EnvironmentError(
        'denied',
        path,
        `'${path}' may not be written: the sandbox policy protects it (sandbox.filesystem.denyWrite, or a` +
          ' built-in protection of .git/hooks, .git/config, .tau/ and tau.config.*)',
      )
    }
  }

  async resolvePath(path: string): Promise<string> {
    if (typeof path !== 'string' || path.includes('\0')) {
      throw new EnvironmentError('io', String(path), 'invalid path: it must be a string without NUL bytes')
    }
    let real: string
    try {
      real = await realPathOf(absoluteFrom(this.cwd, path))
    } catch (error) {
      if (isLinkLoop(error)) throw new EnvironmentError('io', path, (error as Error).message)
      throw wrapFsError(error, path)
    }
    if (!insideRoots(real, this.roots)) {
      const shown = real === path ? `'${path}'` : `'${path}' (really '${real}')`
      throw new EnvironmentError(
        'outside-workspace',
        path,
        `${shown} is outside the workspace; paths must be inside ${this.roots.map((r) => `'${r}'`).join(', ')}` +
          ' (symbolic links are followed)',
      )
    }
    return real
  }

  async contains(path: string): Promise<boolean> {
    try {
      await this.resolvePath(path)
      return true
    } catch {
      return false
    }
  }

  async checkAccess(path: string, access: 'read' | 'write'): Promise<string> {
    const real = await this.resolvePath(path)
    if (access === 'read') this.checkRead(real, path)
    else this.checkWrite(real, path)
    return real
  }

  async stat(path: string): Promise<FileStat> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    try {
      const s = await stat(real)
      return { path: real, type: typeOf(s), size: s.size, mtimeMs: s.mtimeMs, mode: s.mode }
    } catch (error) {
      throw wrapFsError(error, path)
    }
  }

  async readFile(path: string): Promise<Buffer> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    try {
      return await readFile(real)
    } catch (error) {
      throw wrapFsError(error, path)
    }
  }

  async openFile(path: string): Promise<OpenedFile> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    // Synchronous open and fstat: metadata calls on the file just resolved cost less than two
    // thread-pool round trips (opened-file.ts says what is read synchronously and what is not).
    let fd: number
    try {
      fd = openSync(real, OPEN_FOR_READ)
    } catch (error) {
      throw wrapFsError(error, path)
    }
    try {
      // What was opened is what was checked, or is checked now (a directory swapped on the way).
      const now = openedPath(fd)
      if (now !== undefined && now !== real) {
        if (!insideRoots(now, this.roots)) throw this.outsideRead(path, now)
        this.checkRead(now, path)
      }
      const s = fstatSync(fd)
      return new LocalOpenedFile(fd, {
        path: real,
        type: typeOf(s),
        size: s.size,
        mtimeMs: s.mtimeMs,
        mode: s.mode,
      })
    } catch (error) {
      try {
        closeSync(fd)
      } catch {
        // The error that brought us here is the one to report.
      }
      throw wrapFsError(error, path)
    }
  }

  async writeFile(path: string, data: string | Buffer): Promise<void> {
    const real = await this.resolvePath(path)
    this.checkWrite(real, path)
    return writeInside(path, real, data, this.roots)
  }

  private outsideRead(path: string, real: string): EnvironmentError {
    return new EnvironmentError(
      'outside-workspace',
      path,
      `'${path}' is outside the workspace: it is now '${real}' (a directory on the path was replaced while opening it); nothing was read`,
    )
  }

  async readdir(path: string): Promise<Array<{ name: string; type: FileStat['type'] }>> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    try {
      const entries = await readdir(real, { withFileTypes: true })
      return entries.map((entry) => ({ name: entry.name, type: typeOf(entry) }))
    } catch (error) {
      throw wrapFsError(error, path)
    }
  }

  async mkdir(path: string): Promise<void> {
    const real = await this.resolvePath(path)
    this.checkWrite(real, path)
    try {
      await mkdir(real, { recursive: true })
    } catch (error) {
      throw wrapFsError(error, path)
    }
  }

  async remove(path: string): Promise<void> {
    // The entry itself, not what a symlink points to: resolve the parent, keep the last name.
    const name = basename(absoluteFrom(this.cwd, path))
    if (name === '' || name === '.' || name === '..') {
      throw new EnvironmentError('io', path, `refusing to remove '${path}': name the entry to remove`)
    }
    const parent = await this.resolvePath(dirname(absoluteFrom(this.cwd, path)))
    const target = join(parent, name)
    this.checkWrite(target, path)
    if (this.roots.includes(target)) {
      throw new EnvironmentError('io', path, `refusing to remove '${path}': it is a workspace root`)
    }
    try {
      const entry = await lstat(target)
      if (entry.isSymbolicLink() || !entry.isDirectory()) await unlink(target)
      else await rm(target, { recursive: true })
    } catch (error) {
      throw wrapFsError(error, path)
    }
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const { run, cwd } = await this.start(command, options, false)
    try {
      return await run.result
    } catch (error) {
      throw wrapFsError(error, cwd)
    } finally {
      this.running.delete(run)
    }
  }

  spawn(command: Command, options: SpawnOptions = {}): ProcessHandle {
    const queue: Array<{ stream: 'stdout' | 'stderr'; text: string }> = []
    let wake: (() => void) | undefined
    let ended = false
    const onOutput = (text: string, stream: 'stdout' | 'stderr') => {
      options.onOutput?.(text, stream)
      queue.push({ stream, text })
      wake?.()
    }
    if (options.pty && !this.capabilities.pty) {
      throw new EnvironmentError(
        'io',
        this.cwd,
        `this ${this.kind} environment cannot give a process a pseudo-terminal (util-linux script is ${PTY_HELPER ? 'not available inside it' : 'not installed'}): spawn it without pty`,
      )
    }
    const started = this.start(command, { ...options, onOutput }, true, options.pty === true)
    const result = started.then(async ({ run, cwd }) => {
      try {
        return await run.result
      } catch (error) {
        throw wrapFsError(error, cwd)
      } finally {
        this.running.delete(run)
      }
    })
    result
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        ended = true
        wake?.()
      })
    const output = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift()
          if (next) yield next
          else if (ended) return
          else await new Promise<void>((resolve) => (wake = resolve))
        }
      },
    }
    const withRun = (fn: (run: RunningProcess) => void) => {
      started.then(({ run }) => fn(run)).catch(() => {})
    }
    return {
      output,
      write: (data) => withRun((run) => run.write(data)),
      closeInput: () => withRun((run) => run.endInput()),
      kill: () => withRun((run) => run.terminate()),
      wait: () => result,
    }
  }

  /**
   * What runs for a command: here, the command under the die-with-tau launcher. A sandbox
   * overrides this to wrap it (and may start what it needs first, such as a network proxy).
   */
  protected async prepare(
    argv: readonly string[],
    _cwd: string,
    env: Record<string, string>,
    _options: ExecOptions,
  ): Promise<PreparedCommand> {
    if (!this.launcher) return { argv, env }
    return { argv: this.setprivPath ? withLauncher(argv, this.setprivPath) : withLauncher(argv), env }
  }

  private async start(
    command: Command,
    options: ExecOptions,
    keepInput: boolean,
    pty = false,
  ): Promise<{ run: RunningProcess; cwd: string }> {
    const cwd = options.cwd === undefined ? this.cwd : await this.resolvePath(options.cwd)
    if (options.cwd !== undefined) {
      const s = await stat(cwd).catch((error: unknown) => {
        throw wrapFsError(error, options.cwd!)
      })
      if (!s.isDirectory()) {
        throw new EnvironmentError('not-a-directory', options.cwd, `'${options.cwd}' is not a directory`)
      }
    }
    let inner = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command]
    // A pseudo-terminal: util-linux script opens one (inside the sandbox: bwrap's /dev has its own
    // devpts) and runs the command on it; -e gives back its exit code, /dev/null keeps no log.
    if (pty && PTY_HELPER) inner = onPty(PTY_HELPER, inner)
    const shown = typeof command === 'string' ? command : command.join(' ')
    const prepared =
      process.platform === 'win32'
        ? { argv: undefined, env: { ...this.env, ...options.env } }
        : await this.prepare(
            inner,
            cwd,
            // script runs its -c string with $SHELL: sh, whatever the user's login shell is.
            { ...this.env, ...options.env, ...(pty ? { SHELL: '/bin/sh' } : {}) },
            options,
          )
    const runOptions: GroupRunOptions = {
      command: shown,
      ...(prepared.argv ? { argv: prepared.argv } : {}),
      cwd,
      env: prepared.env,
      ...('goAhead' in prepared && prepared.goAhead ? { goAhead: true } : {}),
      killGraceMs: this.killGraceMs,
      keepInput,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(this.maxOutputChars !== undefined ? { maxOutputChars: this.maxOutputChars } : {}),
    }
    let run = runInGroup(runOptions)
    const after = 'after' in prepared ? prepared.after : undefined
    if (after) {
      const result = run.result.then(
        async (r) => (await after(r)) ?? r,
        async (error: unknown) => {
          await after(undefined)
          throw error
        },
      )
      run = { ...run, result }
    }
    this.running.add(run)
    return { run, cwd }
  }

  processEnv(): Record<string, string> {
    return { ...this.env }
  }

  /** Ends every command still running (their whole process groups). For session disposal. */
  async dispose(): Promise<void> {
    const running = [...this.running]
    if (running.length > 0) this.logger?.debug('ending running commands', { count: running.length })
    for (const run of running) run.terminate()
    await Promise.allSettled(running.map((run) => run.result))
  }
}
