/**
 * The environment: where tools touch files and run processes. Every built-in tool goes through
 * it, never through `fs` or `child_process` directly, so the sandbox can be swapped (local now;
 * a sandboxed or container environment later) without touching the tools.
 *
 * Security rules every implementation keeps:
 * - paths resolve to real paths (symlinks followed) and must stay inside the workspace roots;
 *   anything else is an EnvironmentError with kind 'outside-workspace' — fail closed;
 * - processes get an allowlisted environment, never the user's whole one;
 * - a process that times out or is aborted is killed with its whole process group.
 */
import { defineService } from '../../kernel/index.js'
import type { NetworkGate } from './network-proxy.js'
import type { NetworkMode } from './policy.js'

export type EnvironmentErrorKind =
  | 'outside-workspace'
  | 'not-found'
  | 'not-a-file'
  | 'not-a-directory'
  | 'io'
  /** The sandbox policy refuses it (denyRead, denyWrite); the message names the rule. */
  | 'denied'

/** `local`: the host, unconfined processes; `bwrap`: bubblewrap; `container`: a container runtime. */
export type EnvironmentKind = 'local' | 'bwrap' | 'container'

export interface EnvironmentCapabilities {
  /** Processes see only what the policy lets them (read-only system, writable workspace, masks). */
  readonly filesystemIsolation: boolean
  /** What a process can reach: `host` is the host's network, unconfined. */
  readonly network: NetworkMode | 'host'
  /** Whether spawn() can give a process a pseudo-terminal. */
  readonly pty: boolean
  /** Whether the files are the host's own (at the same paths), so the host may read them directly. */
  readonly filesOnHost: boolean
}

/** A command as a shell string (`/bin/sh -c`) or as an argv (no shell). */
export type Command = string | readonly [string, ...string[]]

/** A running process from spawn(): for background jobs and editor terminals. */
export interface ProcessHandle {
  /** Output as it arrives, until the process and its output have ended. */
  readonly output: AsyncIterable<{ readonly stream: 'stdout' | 'stderr'; readonly text: string }>
  /** Writes to its stdin. */
  write(data: string): void
  /** Closes its stdin. */
  closeInput(): void
  /** Ends it with its whole process group (SIGTERM, SIGKILL after the grace period). */
  kill(): void
  /** Its result, once it has ended. */
  wait(): Promise<ExecResult>
}

export interface FileStat {
  readonly path: string
  readonly type: 'file' | 'directory' | 'symlink' | 'other'
  readonly size: number
  /** Modification time in ms since the epoch. */
  readonly mtimeMs: number
  readonly mode: number
}

export interface ExecOptions {
  /** Working directory; must be inside the workspace. Default: the environment's cwd. */
  readonly cwd?: string
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  /** Extra variables on top of the allowlisted environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Called with output as it arrives (for progress). */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void
  /** Text written to the process's stdin. */
  readonly input?: string
  /**
   * With network `allowlist`: decides a host that neither allowedDomains nor deniedDomains name
   * (the permission flow asks the user). Absent: such hosts are refused.
   */
  readonly onNetworkRequest?: NetworkGate
}

/** What spawn() takes: exec's options (no `input`: write to the handle), and a pseudo-terminal. */
export interface SpawnOptions extends Omit<ExecOptions, 'input'> {
  /**
   * Give the process a pseudo-terminal for stdin, stdout and stderr (`tty` and `test -t 0` say
   * yes; output comes as one stream on stdout, with the terminal's CRLF line ends). Only where
   * `capabilities.pty`; elsewhere spawn() throws EnvironmentError.
   */
  readonly pty?: boolean
}

export interface ExecResult {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly aborted: boolean
  readonly durationMs: number
}

/** A file opened for reading by Environment.openFile. close() it when done. */
export interface OpenedFile {
  readonly stat: FileStat
  /** The file's bytes (a regular file's; anything else is refused). */
  read(): Promise<Buffer>
  close(): Promise<void>
}

export interface Environment {
  readonly kind: EnvironmentKind
  readonly capabilities: EnvironmentCapabilities
  /** The workspace roots, as real absolute paths. */
  readonly roots: readonly string[]
  /** The session's working directory (inside the roots). */
  readonly cwd: string
  /**
   * Resolves a path (absolute, or relative to cwd) to a real absolute path inside the roots,
   * following symlinks of every existing part. A path that does not exist yet resolves through
   * its nearest existing parent. Throws EnvironmentError('outside-workspace') otherwise.
   */
  resolvePath(path: string): Promise<string>
  /**
   * Whether the policy refuses reading this real path (denyRead); for callers that read files on
   * the host directly (`capabilities.filesOnHost`), such as the search walk. Absent: no policy.
   */
  readDenied?(realPath: string): boolean
  /** Whether a path is inside the roots (no throw), after resolving it. */
  contains(path: string): Promise<boolean>
  /**
   * Resolves a path and checks that the policy lets it be read or written (what readFile and
   * writeFile check first); the real path. For a frontend that reads and writes files elsewhere
   * (an editor's buffers). Left out by an implementation: such a frontend uses the environment's own.
   */
  checkAccess?(path: string, access: 'read' | 'write'): Promise<string>
  stat(path: string): Promise<FileStat>
  readFile(path: string): Promise<Buffer>
  /**
   * stat() and readFile() in one: the path is resolved and checked once, as they check it, and
   * opened; its stat and its bytes then come from that one open file, so a file swapped in
   * between is never read (Read uses it). Absent: callers use stat(), then readFile().
   */
  openFile?(path: string): Promise<OpenedFile>
  /** Writes atomically (temporary file + rename), keeping an existing file's mode; creates parent dirs. */
  writeFile(path: string, data: string | Buffer): Promise<void>
  readdir(path: string): Promise<Array<{ name: string; type: FileStat['type'] }>>
  mkdir(path: string): Promise<void>
  remove(path: string): Promise<void>
  /** Runs a shell command (`/bin/sh -c` where available) or an argv in its own process group. */
  exec(command: Command, options?: ExecOptions): Promise<ExecResult>
  /** Starts a command and hands back its process (stdin stays open until closeInput()). */
  spawn(command: Command, options?: SpawnOptions): ProcessHandle
  /** The environment variables a subprocess gets: an allowlist, not the user's whole environment. */
  processEnv(): Record<string, string>
  /** Ends everything still running and frees what the environment started (proxies, containers). */
  dispose(): Promise<void>
}

export class EnvironmentError extends Error {
  readonly kind: EnvironmentErrorKind
  readonly path: string
  constructor(kind: EnvironmentErrorKind, path: string, message: string) {
    super(message)
    this.name = 'EnvironmentError'
    this.kind = kind
    this.path = path
  }
}

/** Per session: its roots and cwd are the session's. */
export const environmentRef = defineService<Environment, 'session'>('sandbox.environment', {
  scope: 'session',
  description: 'Where tools touch files and run processes (local, sandboxed, container).',
})
