/**
 * A container runtime without an engine: a root filesystem directory (an unpacked image, a
 * debootstrap, a few binaries) under bubblewrap. Each exec is bwrap over the same rootfs with the
 * session's namespaces: the rootfs read-only at /, the workspace roots writable at their host
 * paths, a private /tmp and /run, the policy's masks, `--die-with-parent`. `user` maps to a uid
 * and gid from the rootfs's /etc/passwd (or is given as uid[:gid]). Nothing outside the workspace
 * and the spec's mounts is shared with the host; writes elsewhere fail (a read-only root).
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { bwrapArgs, bwrapStatus } from './bwrap.js'
import type { ContainerHandle, ContainerRuntime, ContainerSpec } from './container.js'
import { SANDBOX_ERRORS } from './errors.js'
import { inSandboxLauncher } from './launcher.js'
import { PROXY_SOCKET_INSIDE } from './network-bridge.js'
import { resolvePolicy } from './policy.js'

/** uid/gid of a user: `1000`, `1000:1000`, or a name in the rootfs's /etc/passwd. */
export function userIds(rootfs: string, user: string): { uid: number; gid: number } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user)
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) }
  let passwd = ''
  try {
    passwd = readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8')
  } catch {
    // no passwd file: the name cannot be found
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':')
    if (name === user && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) }
  }
  throw new TauError(
    SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
    `the container user '${user}' (sandbox.container.user, or remoteUser in devcontainer.json) is not in ${join(rootfs, 'etc', 'passwd')}: name a user the root filesystem has, or give uid[:gid]`,
    { plugin: 'sandbox' },
  )
}

export class BwrapRootfsRuntime implements ContainerRuntime {
  readonly name = 'bwrap-rootfs'
  readonly diesWithParent = true

  constructor(private readonly bwrapPath: string | undefined = bwrapStatus().path) {}

  /** The rootfs's own socat (a host binary would need the host's libraries, which are not there). */
  proxySocat(spec: ContainerSpec): string | undefined {
    if (!spec.rootfs) return undefined
    return ['/usr/bin/socat', '/bin/socat', '/usr/local/bin/socat'].find((path) => {
      try {
        return statSync(join(spec.rootfs as string, path)).isFile()
      } catch {
        return false
      }
    })
  }

  async create(spec: ContainerSpec): Promise<ContainerHandle> {
    const bwrap = this.bwrapPath
    if (!bwrap) {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
        `the rootfs container runtime runs under bubblewrap, which is not available here: ${bwrapStatus().reason ?? 'not found'}`,
        { plugin: 'sandbox' },
      )
    }
    const dir = spec.rootfs
    if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        `sandbox.container.rootfs: the container's root filesystem '${dir ?? '(none given)'}' is not a directory`,
        { plugin: 'sandbox' },
      )
    }
    if (!existsSync(join(dir, 'bin', 'sh')) && !existsSync(join(dir, 'usr', 'bin', 'sh'))) {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        `sandbox.container.rootfs: the container's root filesystem '${dir}' has no /bin/sh, which every command runs through`,
        { plugin: 'sandbox' },
      )
    }
    const ids = spec.user === undefined ? undefined : userIds(dir, spec.user)
    const policy =
      spec.policy ??
      resolvePolicy(
        {
          filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
          network: { mode: spec.network, allowedDomains: [], deniedDomains: [] },
        },
        { cwd: spec.workspace[0] ?? '/', roots: spec.workspace },
      )
    return {
      id: `rootfs:${dir}`,
      exec: (argv, cwd, env, extra) => ({
        argv: [
          bwrap,
          ...bwrapArgs({
            roots: spec.workspace.filter((path) => !policy.allowWrite.includes(path)),
            cwd,
            policy: { ...policy, network: { ...policy.network, mode: spec.network } },
            rootfs: { dir, mounts: spec.mounts, ...(ids ?? {}) },
            ...(extra?.proxySocket
              ? { proxySocket: { host: extra.proxySocket, inside: PROXY_SOCKET_INSIDE } }
              : {}),
          }),
          // As BwrapEnvironment: the launcher is PID 1 and waits for tau's go-ahead (launcher.ts).
          '--as-pid-1',
          '--',
          ...inSandboxLauncher(argv),
        ],
        env: { ...env, TMPDIR: '/tmp' },
        goAhead: true,
      }),
      // Nothing lives between commands: each one's namespaces end with it.
      remove: async () => {},
    }
  }
}
