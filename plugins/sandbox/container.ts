/**
 * The container environment: one container per session, created at its first command and
 * removed at dispose; each command is an exec into it. The workspace is mounted at the same
 * absolute path, so files stay on the host (the file tools read them directly, with the same
 * policy) and paths mean the same inside and out. Which engine runs the container is a port,
 * `ContainerRuntime`: a docker/podman CLI adapter (container-docker.ts), or a root filesystem
 * directory under bubblewrap (container-rootfs.ts), which needs no engine and so runs here.
 *
 * No host credentials go in: the process environment is the same allowlist as everywhere, plus
 * the spec's `containerEnv`; nothing of $HOME is mounted.
 */
import { TauError } from '../../kernel/index.js'
import type {
  Command,
  EnvironmentCapabilities,
  EnvironmentKind,
  ExecOptions,
  ExecResult,
  ProcessHandle,
} from './environment.js'
import { SANDBOX_ERRORS } from './errors.js'
import { LocalEnvironment, type LocalEnvironmentOptions, type PreparedCommand } from './local.js'
import type { ResolvedPolicy } from './policy.js'
import { type RunningProcess, runInGroup } from './process-group.js'
import { checkProtected, snapshotProtected, withViolations } from './protected-paths.js'

export interface ContainerMount {
  readonly source: string
  readonly target: string
  readonly readonly: boolean
}

/** What a session's container is made from (devcontainer.json's subset, or tau's own block). */
export interface ContainerSpec {
  /** An image, for an engine (docker, podman). */
  readonly image?: string
  /** A root filesystem directory, for the bubblewrap runtime. */
  readonly rootfs?: string
  /** Host directories mounted writable at the same absolute paths (the workspace roots). */
  readonly workspace: readonly string[]
  /** The working directory inside (default: the session's cwd). */
  readonly workspaceFolder?: string
  /** Variables every process in the container gets. */
  readonly containerEnv: Readonly<Record<string, string>>
  /** The user commands run as (a name from the container's /etc/passwd, or uid[:gid]). */
  readonly user?: string
  readonly mounts: readonly ContainerMount[]
  /** `none`: no network but loopback; `full`: the engine's default network. */
  readonly network: 'none' | 'full'
  /** The environment's policy with real paths: denyWrite, protected and denyRead paths in the workspace. */
  readonly policy?: ResolvedPolicy
}

/** A created container. */
export interface ContainerHandle {
  readonly id: string
  /** The host argv (and its environment) that runs `argv` in the container, in `cwd`. */
  exec(argv: readonly string[], cwd: string, env: Record<string, string>): PreparedCommand
  /** Removes the container; safe to call twice. */
  remove(): Promise<void>
}

/** The port: an engine that can create a container from a spec. */
export interface ContainerRuntime {
  /** `docker`, `podman`, `bwrap-rootfs`. */
  readonly name: string
  create(spec: ContainerSpec): Promise<ContainerHandle>
  /** Whether exec'd processes die when tau does (bwrap: yes; an engine keeps its container). */
  readonly diesWithParent: boolean
}

export interface ContainerEnvironmentOptions extends LocalEnvironmentOptions {
  readonly runtime: ContainerRuntime
  readonly spec: Omit<ContainerSpec, 'workspace' | 'network'> & { readonly network?: 'none' | 'full' }
  /**
   * Run in the container once it is created, in the session's cwd, before any other command
   * (devcontainer.json's postCreateCommand: the caller decides trust). One that fails fails the
   * container: every command then gets its error.
   */
  readonly postCreate?: { readonly commands: readonly Command[]; readonly source: string }
}

/** How long a postCreateCommand may take (an `npm ci` on a slow machine). */
const POST_CREATE_TIMEOUT_MS = 15 * 60_000

export class ContainerEnvironment extends LocalEnvironment {
  override readonly kind: EnvironmentKind = 'container'
  override readonly capabilities: EnvironmentCapabilities
  private readonly runtime: ContainerRuntime
  private readonly spec: ContainerSpec
  private handle: Promise<ContainerHandle> | undefined
  private readonly postCreate: ContainerEnvironmentOptions['postCreate']
  /** The postCreateCommand running now, for dispose to end. */
  private creating: RunningProcess | undefined

  constructor(options: ContainerEnvironmentOptions) {
    super({ ...options, launcher: !options.runtime.diesWithParent })
    if (this.policy.network.mode === 'allowlist') {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        "sandbox.network.mode 'allowlist' is not available in a container environment yet: use 'none' or 'full'",
        { plugin: 'sandbox' },
      )
    }
    this.runtime = options.runtime
    this.postCreate = options.postCreate
    this.spec = {
      ...options.spec,
      workspace: [...this.roots, ...this.policy.allowWrite],
      network: options.spec.network ?? (this.policy.network.mode === 'full' ? 'full' : 'none'),
      policy: this.policy,
    }
    this.capabilities = {
      filesystemIsolation: true,
      network: this.spec.network,
      pty: false,
      filesOnHost: true,
    }
  }

  /** The session's container: created at the first command, once. */
  container(): Promise<ContainerHandle> {
    this.handle ??= this.runtime.create(this.spec).then((handle) => this.afterCreate(handle))
    return this.handle
  }

  private async afterCreate(handle: ContainerHandle): Promise<ContainerHandle> {
    for (const command of this.postCreate?.commands ?? []) {
      const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command]
      const shown = typeof command === 'string' ? command : command.join(' ')
      const prepared = handle.exec(argv, this.cwd, { ...this.processEnv(), ...this.spec.containerEnv })
      const before = snapshotProtected(this.roots)
      this.creating = runInGroup({
        command: shown,
        argv: prepared.argv,
        cwd: this.cwd,
        env: prepared.env,
        killGraceMs: this.killGraceMs,
        timeoutMs: POST_CREATE_TIMEOUT_MS,
      })
      const result = await this.creating.result.finally(() => (this.creating = undefined))
      checkProtected(before, this.logger)
      if (result.exitCode !== 0) {
        await handle.remove()
        const how = result.timedOut
          ? `timed out after ${POST_CREATE_TIMEOUT_MS / 60_000} minutes`
          : result.exitCode === null
            ? `ended by ${result.signal}`
            : `exit ${result.exitCode}`
        const output = (result.stderr.trim() || result.stdout.trim()).slice(-2000)
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
          `${this.postCreate?.source ?? 'postCreateCommand'}: postCreateCommand '${shown}' failed in the container (${how})${output ? `:\n${output}` : ''}`,
          { plugin: 'sandbox' },
        )
      }
      this.logger?.info('postCreateCommand ran in the container', { command: shown })
    }
    return handle
  }

  protected override async prepare(
    argv: readonly string[],
    cwd: string,
    env: Record<string, string>,
    _options: ExecOptions,
  ): Promise<PreparedCommand> {
    const handle = await this.container()
    return handle.exec(argv, cwd, { ...env, ...this.spec.containerEnv })
  }

  override async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const before = snapshotProtected(this.roots)
    const result = await super.exec(command, options)
    return withViolations(result, checkProtected(before, this.logger))
  }

  override spawn(command: Command, options: Omit<ExecOptions, 'input'> = {}): ProcessHandle {
    const before = snapshotProtected(this.roots)
    const handle = super.spawn(command, options)
    const result = handle.wait().then((r) => withViolations(r, checkProtected(before, this.logger)))
    return { ...handle, wait: () => result }
  }

  override async dispose(): Promise<void> {
    this.creating?.terminate()
    await super.dispose()
    const handle = this.handle
    this.handle = undefined
    if (handle) await handle.then((h) => h.remove()).catch(() => {})
  }
}
