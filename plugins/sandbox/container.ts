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
}

export class ContainerEnvironment extends LocalEnvironment {
  override readonly kind: EnvironmentKind = 'container'
  override readonly capabilities: EnvironmentCapabilities
  private readonly runtime: ContainerRuntime
  private readonly spec: ContainerSpec
  private handle: Promise<ContainerHandle> | undefined

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
    this.handle ??= this.runtime.create(this.spec)
    return this.handle
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
    await super.dispose()
    const handle = this.handle
    this.handle = undefined
    if (handle) await handle.then((h) => h.remove()).catch(() => {})
  }
}
