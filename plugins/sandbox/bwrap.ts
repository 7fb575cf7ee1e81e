/**
 * The bubblewrap environment: files as the local one (on the host, fenced to the workspace, the
 * same policy), but every process runs under bwrap — new user, PID, IPC, UTS, cgroup and network
 * namespaces, `--die-with-parent`, the host read-only, the workspace roots and allowWrite paths
 * writable at their real absolute paths, denied paths masked, private /tmp, /run and /proc.
 *
 * The mounts, in order (a later one covers an earlier one):
 *   --ro-bind / /            the host, read-only
 *   --dev /dev --proc /proc  a minimal /dev; a /proc showing only the sandbox's processes
 *   --tmpfs /tmp /var/tmp /run   private: host sockets there (X11, agents, D-Bus, docker) unreachable
 *   --bind ROOT ROOT         each workspace root and allowWrite path, writable
 *   --ro-bind P P            denyWrite and the protected files (.git/hooks, .tau, tau.config.*)
 *   --tmpfs DIR / --ro-bind /dev/null FILE   denyRead
 */
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
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
import { inSandboxLauncher } from './launcher.js'
import {
  LocalEnvironment,
  type LocalEnvironmentOptions,
  type PreparedCommand,
  ptyAvailable,
} from './local.js'
import { bridgedCommand, PROXY_SOCKET_INSIDE, proxyEnv, socatPath } from './network-bridge.js'
import { NetworkProxy } from './network-proxy.js'
import { type ResolvedPolicy, underAny } from './policy.js'
import {
  checkProtected,
  protectedPaths,
  type Snapshot,
  snapshotProtected,
  withViolations,
} from './protected-paths.js'

export interface BwrapStatus {
  readonly available: boolean
  /** The binary, when found. */
  readonly path?: string
  readonly version?: string
  /** Why not, when not available. */
  readonly reason?: string
}

let status: BwrapStatus | undefined

export interface BwrapStatusOptions {
  /**
   * A file that keeps the probe's answer between runs (in $TAU_HOME): reused while the machine has
   * not rebooted and the bwrap binary is the same file, so a start of tau does not pay for two
   * bwrap processes (tens of milliseconds; more under load). `tau doctor` probes afresh.
   */
  readonly cacheFile?: string
}

/** Whether bubblewrap runs here (found, and able to make its namespaces). Probed once a process. */
export function bwrapStatus(options: BwrapStatusOptions = {}): BwrapStatus {
  if (status) return status
  if (process.platform !== 'linux') {
    status = { available: false, reason: `bubblewrap is Linux only (this is ${process.platform})` }
    return status
  }
  const path = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'].find((p) => existsSync(p))
  if (!path) {
    status = { available: false, reason: 'bwrap is not installed (apt-get install bubblewrap)' }
    return status
  }
  const key = probeKey(path)
  const cached = options.cacheFile && key ? readCachedStatus(options.cacheFile, key) : undefined
  if (cached) {
    status = cached
    return status
  }
  status = probe(path)
  if (options.cacheFile && key) writeCachedStatus(options.cacheFile, key, status)
  return status
}

function probe(path: string): BwrapStatus {
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 }).stdout?.trim()
  const probe = spawnSync(
    path,
    [
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--unshare-all',
      '--die-with-parent',
      '/bin/sh',
      '-c',
      'exit 0',
    ],
    { encoding: 'utf8', timeout: 10_000 },
  )
  return probe.status === 0
    ? { available: true, path, ...(version ? { version } : {}) }
    : {
        available: false,
        path,
        ...(version ? { version } : {}),
        reason: `bwrap cannot create its namespaces here: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()} (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone, or AppArmor's restrict_unprivileged_userns)`,
      }
}

/** This boot of the machine and this bwrap binary; undefined when the boot id cannot be read. */
function probeKey(path: string): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const binary = statSync(path)
    return `${boot} ${path} ${binary.ino} ${binary.size} ${binary.mtimeMs}`
  } catch {
    return undefined
  }
}

function readCachedStatus(file: string, key: string): BwrapStatus | undefined {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown; status?: BwrapStatus }
    return saved.key === key && typeof saved.status?.available === 'boolean' ? saved.status : undefined
  } catch {
    return undefined
  }
}

/** Best effort, written whole (a temporary file renamed over): a cache that cannot be kept is probed again. */
function writeCachedStatus(file: string, key: string, value: BwrapStatus): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
    const temporary = `${file}.${process.pid}.tmp`
    writeFileSync(temporary, `${JSON.stringify({ key, status: value })}\n`, { mode: 0o600 })
    renameSync(temporary, file)
  } catch {
    // a read-only TAU_HOME: probe at every start
  }
}

/** bwrap's arguments for a policy (everything before `--`). Paths are real and absolute. */
export function bwrapArgs(options: {
  readonly roots: readonly string[]
  readonly cwd: string
  readonly policy: ResolvedPolicy
  /** Inside path of the proxy's socket → host path, with network `allowlist`. */
  readonly proxySocket?: { readonly host: string; readonly inside: string }
  /** A container's root filesystem instead of the host's (container-rootfs.ts). */
  readonly rootfs?: {
    readonly dir: string
    readonly mounts: ReadonlyArray<{
      readonly source: string
      readonly target: string
      readonly readonly: boolean
    }>
    readonly uid?: number
    readonly gid?: number
  }
}): string[] {
  const { policy, rootfs } = options
  const args = ['--die-with-parent', '--unshare-all']
  if (policy.network.mode === 'full') args.push('--share-net')
  if (rootfs) {
    // bwrap's own tmpfs is the root; each top-level entry of the rootfs is bound read-only on
    // it, so mount points for the workspace can be made, and the root is remounted read-only last.
    for (const name of readdirSync(rootfs.dir)) {
      if (['dev', 'proc', 'tmp', 'run'].includes(name)) continue
      const source = join(rootfs.dir, name)
      const entry = lstatSync(source)
      if (entry.isSymbolicLink()) args.push('--symlink', readlinkSync(source), `/${name}`)
      else args.push('--ro-bind', source, `/${name}`)
    }
    if (rootfs.uid !== undefined)
      args.push('--uid', String(rootfs.uid), '--gid', String(rootfs.gid ?? rootfs.uid))
  } else args.push('--ro-bind', '/', '/')
  args.push('--dev', '/dev', '--proc', '/proc')
  const inRoot = (dir: string) =>
    rootfs ? dir !== '/var/tmp' || existsSync(join(rootfs.dir, 'var', 'tmp')) : existsSync(dir)
  for (const dir of ['/tmp', '/var/tmp', '/run']) if (inRoot(dir)) args.push('--tmpfs', dir)
  // With the host's network, its resolver's socket under /run must stay (systemd-resolved).
  if (policy.network.mode === 'full' && !rootfs && existsSync('/run/systemd/resolve')) {
    args.push('--ro-bind', '/run/systemd/resolve', '/run/systemd/resolve')
  }
  for (const mount of rootfs?.mounts ?? []) {
    args.push(mount.readonly ? '--ro-bind' : '--bind', mount.source, mount.target)
  }
  const writable = [...options.roots, ...policy.allowWrite]
  for (const path of writable) args.push('--bind', path, path)
  const readOnly = [...policy.denyWrite, ...options.roots.flatMap(protectedPaths)]
  const done = new Set<string>()
  for (const path of readOnly) {
    if (done.has(path) || !existsSync(path)) continue
    done.add(path)
    // Only where it is writable at all; elsewhere it is read-only already.
    if (underAny(path, writable)) args.push('--ro-bind', path, path)
  }
  for (const path of policy.denyRead) {
    // In a container only what is bound in from the host needs masking.
    if (rootfs && !underAny(path, [...writable, ...rootfs.mounts.map((m) => m.target)])) continue
    let directory: boolean
    try {
      directory = statSync(path).isDirectory()
    } catch {
      continue
    }
    if (directory) args.push('--tmpfs', path, '--remount-ro', path)
    else args.push('--ro-bind', '/dev/null', path)
  }
  if (options.proxySocket) args.push('--ro-bind', options.proxySocket.host, options.proxySocket.inside)
  if (rootfs) args.push('--remount-ro', '/')
  args.push('--chdir', options.cwd)
  return args
}

/**
 * The launcher is the sandbox's PID 1 (no bwrap init in between, whose own die-with-parent
 * prctl nothing could wait for): it runs the command once tau has answered it (launcher.ts).
 */
const LAUNCHED = ['--as-pid-1', '--']

export interface BwrapEnvironmentOptions extends LocalEnvironmentOptions {
  /** The bwrap binary (default: the one bwrapStatus() found). */
  readonly bwrapPath?: string
  /**
   * With network `allowlist`: names the proxy maps to addresses itself, trusted even when
   * loopback (tests: a loopback server under a test name). Default: none.
   */
  readonly proxyHosts?: Readonly<Record<string, string>>
}

export class BwrapEnvironment extends LocalEnvironment {
  override readonly kind: EnvironmentKind = 'bwrap'
  override readonly capabilities: EnvironmentCapabilities
  private readonly bwrap: string
  private readonly proxyHosts: Readonly<Record<string, string>> | undefined
  private proxy: NetworkProxy | undefined
  private readonly socat: string | undefined

  constructor(options: BwrapEnvironmentOptions) {
    super({ ...options, launcher: false })
    const found = options.bwrapPath ?? bwrapStatus().path
    if (!found) {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
        `bubblewrap is not available: ${bwrapStatus().reason}`,
        {
          plugin: 'sandbox',
        },
      )
    }
    this.bwrap = found
    const hosts = { ...this.policy.network.hosts, ...options.proxyHosts }
    this.proxyHosts = Object.keys(hosts).length > 0 ? hosts : undefined
    if (this.policy.network.mode === 'allowlist') {
      this.socat = socatPath()
      if (!this.socat) {
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
          "sandbox.network.mode 'allowlist' needs socat inside the sandbox, and it is not installed (apt-get install socat)",
          { plugin: 'sandbox' },
        )
      }
    }
    this.capabilities = {
      filesystemIsolation: true,
      network: this.policy.network.mode,
      // script runs inside the sandbox (the host's, read-only); bwrap's /dev has a devpts of its own.
      pty: ptyAvailable(),
      filesOnHost: true,
    }
  }

  protected override async prepare(
    argv: readonly string[],
    cwd: string,
    env: Record<string, string>,
    options: ExecOptions,
  ): Promise<PreparedCommand> {
    // The host's TMPDIR is not there inside: /tmp is the sandbox's own.
    const inside = { ...env, TMPDIR: '/tmp' }
    if (this.policy.network.mode !== 'allowlist' || !this.socat) {
      const args = bwrapArgs({ roots: this.roots, cwd, policy: this.policy })
      return {
        argv: [this.bwrap, ...args, ...LAUNCHED, ...inSandboxLauncher(argv)],
        env: inside,
        goAhead: true,
      }
    }
    // A channel per command: its questions go to this command's gate, its refusals to its stderr.
    this.proxy ??= new NetworkProxy({
      allowedDomains: this.policy.network.allowedDomains,
      deniedDomains: this.policy.network.deniedDomains,
      ...(this.proxyHosts ? { hosts: this.proxyHosts } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
    })
    const channel = await this.proxy.open(options.onNetworkRequest)
    const args = bwrapArgs({
      roots: this.roots,
      cwd,
      policy: this.policy,
      proxySocket: { host: channel.socketPath, inside: PROXY_SOCKET_INSIDE },
    })
    return {
      argv: [this.bwrap, ...args, ...LAUNCHED, ...inSandboxLauncher(bridgedCommand(this.socat, argv))],
      env: { ...inside, ...proxyEnv() },
      goAhead: true,
      after: async (result) => {
        await channel.close()
        if (!result || channel.refusals.length === 0) return result
        return this.withViolations(result, channel.refusals)
      },
    }
  }

  override async dispose(): Promise<void> {
    await super.dispose()
    await this.proxy?.close()
    this.proxy = undefined
  }

  override async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const before = this.snapshotProtected()
    const result = await super.exec(command, options)
    return this.withViolations(result, this.checkProtected(before))
  }

  override spawn(command: Command, options: SpawnOptions = {}): ProcessHandle {
    const before = this.snapshotProtected()
    const handle = super.spawn(command, options)
    const result = handle.wait().then((r) => this.withViolations(r, this.checkProtected(before)))
    return { ...handle, wait: () => result }
  }

  private withViolations(result: ExecResult, violations: readonly string[]): ExecResult {
    return withViolations(result, violations)
  }

  /** The protected paths of every root, as they are now. */
  snapshotProtected(): Snapshot[] {
    return snapshotProtected(this.roots, this.policy.denyWrite)
  }

  /** After a command: see checkProtected() in protected-paths.ts. */
  checkProtected(before: readonly Snapshot[]): string[] {
    return checkProtected(before, this.logger)
  }
}
