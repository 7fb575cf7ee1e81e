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
  SpawnOptions,
} from './environment.js'
import { SANDBOX_ERRORS } from './errors.js'
import { LocalEnvironment, type LocalEnvironmentOptions, type PreparedCommand } from './local.js'
import { bridgedCommand, proxyEnv } from './network-bridge.js'
import { NetworkProxy } from './network-proxy.js'
import type { ResolvedPolicy } from './policy.js'
import { type RunningProcess, runInGroup } from './process-group.js'
import { checkProtected, snapshotProtected, withViolations } from './protected-paths.js'

export interface ContainerMount {
  readonly source: string
  readonly target: string
  readonly readonly: boolean
}

/** What a session's container is made from (devcontainer.json's subset, or tau's own block). */
/**
 * An image built from the project's Dockerfile (devcontainer.json `build`), by an engine, before
 * its container is made. Building runs the Dockerfile's commands, so it waits for workspace trust.
 */
export interface ImageBuild {
  /** The Dockerfile, absolute, inside the workspace. */
  readonly dockerfile: string
  /** The build context directory, absolute, inside the workspace. */
  readonly context: string
  /** `--build-arg NAME=VALUE` each. */
  readonly args: Readonly<Record<string, string>>
  /** A stage of a multi-stage Dockerfile (`--target`). */
  readonly target?: string
  /** The file that asked for it, for messages (relative to the project). */
  readonly source: string
}

export interface ContainerSpec {
  /** An image, for an engine (docker, podman). */
  readonly image?: string
  /** Or an image to build first, for an engine (docker, podman); `image` wins when both are set. */
  readonly build?: ImageBuild
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
  /**
   * The host argv (and its environment) that runs `argv` in the container, in `cwd`; with
   * `proxySocket` (a runtime with `proxySocat`), that Unix socket of the host at /run/tau-proxy.sock.
   */
  exec(
    argv: readonly string[],
    cwd: string,
    env: Record<string, string>,
    extra?: { readonly proxySocket?: string },
  ): PreparedCommand
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
  /**
   * For network `allowlist`: socat inside the container (its path there), which carries
   * connections to tau's proxy; undefined when this container has none. A runtime without this
   * method cannot bind a per-command socket in (docker, podman: not yet), so it gets no allowlist.
   */
  proxySocat?(spec: ContainerSpec): string | undefined
}

export interface ContainerEnvironmentOptions extends LocalEnvironmentOptions {
  readonly runtime: ContainerRuntime
  /** With network `allowlist`: names the proxy maps to addresses itself, trusted even when loopback (tests). */
  readonly proxyHosts?: Readonly<Record<string, string>>
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
  /** socat's path inside the container, with network allowlist. */
  private readonly socat: string | undefined
  private readonly proxyHosts: Readonly<Record<string, string>> | undefined
  private proxy: NetworkProxy | undefined
  private readonly postCreate: ContainerEnvironmentOptions['postCreate']
  /** The postCreateCommand running now, for dispose to end. */
  private creating: RunningProcess | undefined

  constructor(options: ContainerEnvironmentOptions) {
    super({ ...options, launcher: !options.runtime.diesWithParent })
    this.runtime = options.runtime
    this.postCreate = options.postCreate
    this.spec = {
      ...options.spec,
      workspace: [...this.roots, ...this.policy.allowWrite],
      // With an allowlist the container has no network of its own: only the proxy's socket.
      network: options.spec.network ?? (this.policy.network.mode === 'full' ? 'full' : 'none'),
      policy: this.policy,
    }
    if (this.policy.network.mode === 'allowlist') {
      if (!options.runtime.proxySocat) {
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
          `sandbox.network.mode 'allowlist' is not available with the ${options.runtime.name} runtime yet (only the rootfs runtime binds tau's proxy in): use 'none' or 'full'`,
          { plugin: 'sandbox' },
        )
      }
      this.socat = options.runtime.proxySocat(this.spec)
      if (!this.socat) {
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
          `sandbox.network.mode 'allowlist' needs socat inside the container (at /usr/bin/socat or /bin/socat of sandbox.container.rootfs), which carries connections to tau's proxy: add it to the root filesystem, or use network 'none' or 'full'`,
          { plugin: 'sandbox' },
        )
      }
      const hosts = { ...this.policy.network.hosts, ...options.proxyHosts }
      this.proxyHosts = Object.keys(hosts).length > 0 ? hosts : undefined
    }
    this.capabilities = {
      filesystemIsolation: true,
      network: this.policy.network.mode === 'allowlist' ? 'allowlist' : this.spec.network,
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
      const before = snapshotProtected(this.roots, this.policy.denyWrite)
      this.creating = runInGroup({
        command: shown,
        argv: prepared.argv,
        cwd: this.cwd,
        env: prepared.env,
        ...(prepared.goAhead ? { goAhead: true } : {}),
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
    options: ExecOptions,
  ): Promise<PreparedCommand> {
    const handle = await this.container()
    const inside = { ...env, ...this.spec.containerEnv }
    if (!this.socat) return handle.exec(argv, cwd, inside)
    // As under bwrap: a proxy channel per command, its socket bound in, socat bridging to it.
    this.proxy ??= new NetworkProxy({
      allowedDomains: this.policy.network.allowedDomains,
      deniedDomains: this.policy.network.deniedDomains,
      ...(this.proxyHosts ? { hosts: this.proxyHosts } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
    })
    const channel = await this.proxy.open(options.onNetworkRequest)
    const prepared = handle.exec(
      bridgedCommand(this.socat, argv),
      cwd,
      { ...inside, ...proxyEnv() },
      {
        proxySocket: channel.socketPath,
      },
    )
    return {
      ...prepared,
      after: async (result) => {
        await channel.close()
        if (!result || channel.refusals.length === 0) return result
        return withViolations(result, channel.refusals)
      },
    }
  }

  override async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const before = snapshotProtected(this.roots, this.policy.denyWrite)
    const result = await super.exec(command, options)
    return withViolations(result, checkProtected(before, this.logger))
  }

  override spawn(command: Command, options: SpawnOptions = {}): ProcessHandle {
    const before = snapshotProtected(this.roots, this.policy.denyWrite)
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
    await this.proxy?.close()
    this.proxy = undefined
  }
}
