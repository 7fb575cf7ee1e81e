/**
 * The local environment: the machine tau runs on, fenced to the workspace roots. Files through
 * node:fs after every path has been resolved to a real path inside the roots; processes through
 * `/bin/sh -c` in their own process group with an allowlisted environment.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, constants as fsConstants, fstatSync, openSync } from 'node:fs'
import {
  chmod,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Logger } from '../../kernel/index.js'
import { buildProcessEnv, createEnvAllowlist } from './env-allowlist.js'
import {
  type Command,
  type Environment,
  type EnvironmentCapabilities,
  EnvironmentError,
  type EnvironmentErrorKind,
  type EnvironmentKind,
  type ExecOptions,
  type ExecResult,
  type FileStat,
  type OpenedFile,
  type ProcessHandle,
  type SpawnOptions,
} from './environment.js'
import { withLauncher } from './launcher.js'
import { LocalOpenedFile, OPEN_FOR_READ, openedPath } from './opened-file.js'
import { type ResolvedPolicy, resolvePolicy, type SandboxPolicy, underAny } from './policy.js'
import { type GroupRunOptions, type RunningProcess, runInGroup } from './process-group.js'
import { absoluteFrom, insideRoots, isLinkLoop, realPathOf, realPathSyncOf } from './workspace-paths.js'

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

/** Linux: an opened directory is reachable as /proc/self/fd/N, which writePinned relies on. */
const PINNED_DIRS = process.platform === 'linux' && existsSync('/proc/self/fd')

const errno = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined

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

/** util-linux script, which gives a command a pseudo-terminal without a native module (Linux). */
const PTY_HELPER =
  process.platform === 'linux'
    ? ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path))
    : undefined

/** Whether spawn() can give a process a pseudo-terminal here (util-linux script is installed). */
export function ptyAvailable(): boolean {
  return PTY_HELPER !== undefined
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
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
      throw this.wrap(error, path)
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
      throw this.wrap(error, path)
    }
  }

  async readFile(path: string): Promise<Buffer> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    try {
      return await readFile(real)
    } catch (error) {
      throw this.wrap(error, path)
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
      throw this.wrap(error, path)
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
      throw this.wrap(error, path)
    }
  }

  async writeFile(path: string, data: string | Buffer): Promise<void> {
    const real = await this.resolvePath(path)
    this.checkWrite(real, path)
    const dir = dirname(real)
    let mode: number | undefined
    try {
      const existing = await stat(real)
      if (existing.isDirectory()) {
        throw new EnvironmentError('not-a-file', path, `'${path}' is a directory, not a file`)
      }
      mode = existing.mode & 0o7777
    } catch (error) {
      if (error instanceof EnvironmentError) throw error
      if (errno(error) !== 'ENOENT') throw this.wrap(error, path)
    }
    const tempName = `.${basename(real)}.tau-${randomBytes(6).toString('hex')}.tmp`
    if (PINNED_DIRS) return this.writePinned(path, dir, basename(real), tempName, data, mode)
    // Same directory as the target, so rename() is atomic (one filesystem).
    const temp = join(dir, tempName)
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(temp, data, { flag: 'wx', mode: mode ?? 0o666 })
      // writeFile's mode passes through the umask; an existing file's mode is restored exactly.
      if (mode !== undefined) await chmod(temp, mode)
      // The parent swapped for a link since it was resolved: give up before the rename. (A swap
      // between this check and the rename is not seen here; Linux takes writePinned instead.)
      if ((await realpath(dir)) !== dir) {
        await unlink(temp).catch(() => {})
        throw this.outside(path, dir)
      }
      await rename(temp, real)
    } catch (error) {
      await unlink(temp).catch(() => {})
      if (error instanceof EnvironmentError) throw error
      throw this.wrap(error, path)
    }
  }

  /**
   * The write on Linux: the parent directory is opened once and everything after goes through
   * /proc/self/fd/N (openat and renameat in effect), so a directory on the path swapped for a
   * symlink after resolvePath cannot redirect the temporary file or the rename. The opened
   * directory is checked to be inside the roots before the temporary file is created and again
   * before the rename; missing parents are created one at a time, each opened without following
   * a link. On a refusal the temporary file is removed: an error means nothing was written.
   */
  private async writePinned(
    path: string,
    dir: string,
    name: string,
    tempName: string,
    data: string | Buffer,
    mode: number | undefined,
  ): Promise<void> {
    const parent = await this.openDirectoryInside(path, dir)
    const at = `/proc/self/fd/${parent.fd}`
    const temp = `${at}/${tempName}`
    let created = false
    try {
      await writeFile(temp, data, { flag: 'wx', mode: mode ?? 0o666 })
      created = true
      if (mode !== undefined) await chmod(temp, mode)
      await this.checkPinned(path, at)
      await rename(temp, `${at}/${name}`)
      created = false
    } catch (error) {
      if (created) await unlink(temp).catch(() => {})
      if (error instanceof EnvironmentError) throw error
      throw this.wrap(error, path)
    } finally {
      await parent.close()
    }
  }

  /** Opens `dir` (creating what is missing) as a directory that is inside the roots now. */
  private async openDirectoryInside(path: string, dir: string): Promise<FileHandle> {
    let handle: FileHandle
    try {
      handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY)
    } catch (error) {
      const code = errno(error)
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(dir) === dir) throw this.wrap(error, path)
      const above = await this.openDirectoryInside(path, dirname(dir))
      const child = `/proc/self/fd/${above.fd}/${basename(dir)}`
      try {
        await mkdir(child).catch((mkdirError: unknown) => {
          if (errno(mkdirError) !== 'EEXIST') throw mkdirError
        })
        // O_NOFOLLOW: a link put there since is not followed.
        handle = await open(child, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW)
      } catch (mkdirError) {
        throw this.wrap(mkdirError, path)
      } finally {
        await above.close()
      }
    }
    try {
      await this.checkPinned(path, `/proc/self/fd/${handle.fd}`)
    } catch (error) {
      await handle.close()
      throw error
    }
    return handle
  }

  /** Where an opened directory is now (the kernel knows, whatever was renamed): inside the roots? */
  private async checkPinned(path: string, at: string): Promise<void> {
    const now = await readlink(at).catch(() => undefined)
    // A removed directory reads as '/x (deleted)', which is inside no root.
    if (now === undefined || !insideRoots(now, this.roots)) throw this.outside(path, now ?? at)
  }

  private outsideRead(path: string, real: string): EnvironmentError {
    return new EnvironmentError(
      'outside-workspace',
      path,
      `'${path}' is outside the workspace: it is now '${real}' (a directory on the path was replaced while opening it); nothing was read`,
    )
  }

  private outside(path: string, real: string): EnvironmentError {
    return new EnvironmentError(
      'outside-workspace',
      path,
      `'${path}' is outside the workspace: its directory is now '${real}' (a directory on the path was replaced while writing); nothing was written`,
    )
  }

  async readdir(path: string): Promise<Array<{ name: string; type: FileStat['type'] }>> {
    const real = await this.resolvePath(path)
    this.checkRead(real, path)
    try {
      const entries = await readdir(real, { withFileTypes: true })
      return entries.map((entry) => ({ name: entry.name, type: typeOf(entry) }))
    } catch (error) {
      throw this.wrap(error, path)
    }
  }

  async mkdir(path: string): Promise<void> {
    const real = await this.resolvePath(path)
    this.checkWrite(real, path)
    try {
      await mkdir(real, { recursive: true })
    } catch (error) {
      throw this.wrap(error, path)
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
      throw this.wrap(error, path)
    }
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const { run, cwd } = await this.start(command, options, false)
    try {
      return await run.result
    } catch (error) {
      throw this.wrap(error, cwd)
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
        throw this.wrap(error, cwd)
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
        throw this.wrap(error, options.cwd!)
      })
      if (!s.isDirectory()) {
        throw new EnvironmentError('not-a-directory', options.cwd, `'${options.cwd}' is not a directory`)
      }
    }
    let inner = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command]
    // A pseudo-terminal: util-linux script opens one (inside the sandbox: bwrap's /dev has its own
    // devpts) and runs the command on it; -e gives back its exit code, /dev/null keeps no log.
    if (pty && PTY_HELPER) inner = [PTY_HELPER, '-qefc', inner.map(shellQuote).join(' '), '/dev/null']
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

  private wrap(error: unknown, path: string): EnvironmentError {
    if (error instanceof EnvironmentError) return error
    const code = errno(error)
    const kinds: Record<string, EnvironmentErrorKind> = {
      ENOENT: 'not-found',
      EISDIR: 'not-a-file',
      ENOTDIR: 'not-a-directory',
    }
    const kind = (code ? kinds[code] : undefined) ?? 'io'
    const what: Record<EnvironmentErrorKind, string> = {
      'not-found': `'${path}' does not exist`,
      'not-a-file': `'${path}' is a directory, not a file`,
      'not-a-directory': `'${path}' is not a directory`,
      'outside-workspace': `'${path}' is outside the workspace`,
      denied: `'${path}' is denied by the sandbox policy`,
      io: `'${path}': ${error instanceof Error ? error.message : String(error)}`,
    }
    const wrapped = new EnvironmentError(kind, path, what[kind])
    ;(wrapped as { cause?: unknown }).cause = error
    return wrapped
  }
}
