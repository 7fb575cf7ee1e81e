/**
 * The `sandbox` plugin: where tools touch files and run processes. It provides the session-scoped
 * `sandbox.environment` service; this version is the local environment, fenced to the session's
 * working directory and the configured roots. A sandboxed or container environment replaces it
 * through the same service, without touching the tools.
 */
import { join, resolve } from 'node:path'
import { definePlugin, TauError } from '../../kernel/index.js'
import { BwrapEnvironment, bwrapStatus } from './bwrap.js'
import { sandboxConfig } from './config.js'
import { type Environment, environmentRef } from './environment.js'
import { SANDBOX_ERRORS } from './errors.js'
import { LocalEnvironment, type LocalEnvironmentOptions } from './local.js'
import { socatPath } from './network-bridge.js'
import { absoluteFrom } from './workspace-paths.js'

export { BwrapEnvironment, type BwrapEnvironmentOptions, type BwrapStatus, bwrapStatus } from './bwrap.js'
export { type SandboxConfig, sandboxConfig } from './config.js'
export {
  ContainerEnvironment,
  type ContainerEnvironmentOptions,
  type ContainerHandle,
  type ContainerMount,
  type ContainerRuntime,
  type ContainerSpec,
} from './container.js'
export { DockerCliRuntime } from './container-docker.js'
export { BwrapRootfsRuntime } from './container-rootfs.js'
export { type SandboxCheck, sandboxChecks } from './doctor.js'
export {
  buildProcessEnv,
  createEnvAllowlist,
  DEFAULT_ENV_ALLOW,
  type EnvAllowlist,
  isSecretName,
} from './env-allowlist.js'
export {
  type Command,
  type Environment,
  type EnvironmentCapabilities,
  EnvironmentError,
  type EnvironmentErrorKind,
  type EnvironmentKind,
  type ExecOptions,
  type ExecResult,
  environmentRef,
  type FileStat,
  type ProcessHandle,
} from './environment.js'
export { SANDBOX_ERRORS } from './errors.js'
export { pdeathsigLauncher } from './launcher.js'
export { LocalEnvironment, type LocalEnvironmentOptions } from './local.js'
export {
  forbiddenAddress,
  type NetworkGate,
  NetworkProxy,
  type NetworkProxyOptions,
  type NetworkRequest,
  type NetworkVerdict,
  type ProxyChannel,
} from './network-proxy.js'
export type { NetworkMode, SandboxPolicy } from './policy.js'
export { type GroupRunOptions, type RunningProcess, runInGroup } from './process-group.js'
export { absoluteFrom, insideRoots, realPathOf, realPathSyncOf } from './workspace-paths.js'

export default definePlugin({
  name: 'sandbox',
  description: 'Where tools touch files and run processes: bubblewrap where it works, else the local machine',
  config: sandboxConfig,
  setup(ctx) {
    const config = ctx.config
    const roots = config.roots.map((root) => resolve(absoluteFrom(ctx.paths.projectDir, root)))
    let warned = false
    /** bwrap or local, decided at the first session (the probe runs bwrap once). */
    const useBwrap = (): boolean => {
      if (config.mode === 'off') return false
      const status = bwrapStatus({ cacheFile: join(ctx.paths.tauHome, 'cache', 'bwrap-probe.json') })
      if (status.available) return true
      if (config.mode === 'bwrap' || config.failIfUnavailable) {
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
          `bubblewrap is not available: ${status.reason}`,
          {
            plugin: ctx.name,
          },
        )
      }
      if (!warned) {
        warned = true
        ctx.logger.warn(
          `tool processes run unconfined on this machine: ${status.reason}. Set sandbox.mode: 'off' to silence this, or sandbox.failIfUnavailable: true to make it an error`,
        )
      }
      return false
    }
    if (config.network.mode === 'allowlist' && !socatPath() && config.mode !== 'off') {
      // Without socat the sandbox has no way to the proxy: fail at setup, not at the first command.
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
        "sandbox.network.mode 'allowlist' needs socat, which carries connections from inside the sandbox to tau's proxy, and it is not installed (apt-get install socat)",
        { plugin: ctx.name },
      )
    }
    ctx.provide(
      environmentRef,
      (session): Environment => {
        const options: LocalEnvironmentOptions = {
          cwd: session.cwd,
          roots,
          envAllow: config.env.allow,
          envSet: config.env.set,
          killGraceMs: config.killGraceMs,
          logger: ctx.logger,
          policy: { filesystem: config.filesystem, network: config.network },
          tauHome: ctx.paths.tauHome,
        }
        return useBwrap() ? new BwrapEnvironment(options) : new LocalEnvironment(options)
      },
      (environment) => environment.dispose(),
    )
  },
})
