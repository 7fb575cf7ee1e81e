/**
 * The `sandbox` plugin: where tools touch files and run processes. It provides the session-scoped
 * `sandbox.environment` service: bubblewrap or the local machine, fenced to the session's working
 * directory and the configured roots, chosen per session from `session.settings('sandbox')` (the
 * session's own settings merged over the global config). The tools see only the interface.
 */
import { join, resolve } from 'node:path'
import { definePlugin, TauError } from '../../kernel/index.js'
import { trustOf } from '../trust/index.js'
import { BwrapEnvironment, bwrapStatus } from './bwrap.js'
import { type SandboxConfig, sandboxConfig } from './config.js'
import { ContainerEnvironment, type ContainerRuntime } from './container.js'
import { type ContainerPlan, planContainer } from './container-config.js'
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
  type OpenedFile,
  type ProcessHandle,
  type SpawnOptions,
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
  // Trust decides whether a devcontainer.json's mounts and postCreateCommand apply.
  optionalDependsOn: ['trust'],
  setup(ctx) {
    const global = ctx.config
    const cacheFile = join(ctx.paths.tauHome, 'cache', 'bwrap-probe.json')
    let warned = false
    /**
     * bwrap or local for one session's config. The probe runs once a process (bwrapStatus caches
     * it); what is decided from it depends on the session's mode, so this is cheap per session.
     */
    const useBwrap = (config: SandboxConfig, session: string | undefined): boolean => {
      if (config.mode === 'off') return false
      const status = bwrapStatus({ cacheFile })
      if (status.available) return true
      if (config.mode === 'bwrap' || config.failIfUnavailable) {
        throw new TauError(
          SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
          `bubblewrap is not available${session ? ` (session ${session} asked for sandbox.mode '${config.mode}')` : ''}: ${status.reason}`,
          { plugin: ctx.name },
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
    const needsSocat = (config: SandboxConfig): boolean =>
      config.network.mode === 'allowlist' &&
      config.mode !== 'off' &&
      config.mode !== 'container' &&
      !socatPath()
    const noSocat =
      "sandbox.network.mode 'allowlist' needs socat, which carries connections from inside the sandbox to tau's proxy, and it is not installed (apt-get install socat)"
    // Without socat the sandbox has no way to the proxy: fail at setup, not at the first command.
    if (needsSocat(global))
      throw new TauError(SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE, noSocat, { plugin: ctx.name })
    const rootsOf = (config: SandboxConfig) =>
      config.roots.map((root) => resolve(absoluteFrom(ctx.paths.projectDir, root)))
    const globalRoots = rootsOf(global)
    const trust = trustOf(ctx)
    const runtimes = new Map<string, ContainerRuntime>()
    const plan = (config: SandboxConfig): ContainerPlan =>
      planContainer(config, {
        projectDir: ctx.paths.projectDir,
        tauHome: ctx.paths.tauHome,
        trusted: trust.trusted,
        runtimes,
        cacheFile,
      })
    if (global.mode === 'container') {
      // A bad devcontainer.json or container block fails the start, not the first command; what
      // the project asks that waits for trust is said now, so the terminal can ask.
      const planned = plan(global)
      for (const what of planned.held) trust.skip(what)
      for (const note of planned.notes) ctx.logger.warn(note)
    }
    const containerEnvironment = (config: SandboxConfig, options: LocalEnvironmentOptions): Environment => {
      // Planned again per session: the workspace may have been trusted at start (the question).
      const planned = plan(config)
      if (planned.untrustedBuild)
        throw new TauError(SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER, planned.untrustedBuild, { plugin: ctx.name })
      return new ContainerEnvironment({
        ...options,
        runtime: planned.runtime,
        spec: {
          ...(planned.image ? { image: planned.image } : {}),
          ...(planned.build ? { build: planned.build } : {}),
          ...(planned.rootfs ? { rootfs: planned.rootfs } : {}),
          ...(planned.user ? { user: planned.user } : {}),
          ...(planned.workspaceFolder ? { workspaceFolder: planned.workspaceFolder } : {}),
          containerEnv: planned.containerEnv,
          mounts: planned.mounts,
        },
        ...(planned.postCreate ? { postCreate: planned.postCreate } : {}),
      })
    }
    ctx.provide(
      environmentRef,
      (session): Environment => {
        // Per-session sandbox settings: the session's overrides merged over the global slice and
        // validated by the kernel (createSession({ settings: { sandbox } })); else the global one.
        const own = Object.hasOwn(session.overrides, 'sandbox')
        const config = own ? (session.settings('sandbox') as SandboxConfig) : global
        if (own && needsSocat(config)) {
          throw new TauError(SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE, `session ${session.id}: ${noSocat}`, {
            plugin: ctx.name,
          })
        }
        const options: LocalEnvironmentOptions = {
          cwd: session.cwd,
          roots: own ? rootsOf(config) : globalRoots,
          envAllow: config.env.allow,
          envSet: config.env.set,
          // Picked (allowlisted) from the kernel's env: an embedder's own, or process.env for tau.
          parentEnv: ctx.env,
          killGraceMs: config.killGraceMs,
          logger: ctx.logger,
          policy: { filesystem: config.filesystem, network: config.network },
          tauHome: ctx.paths.tauHome,
        }
        if (config.mode === 'container') return containerEnvironment(config, options)
        return useBwrap(config, own ? session.id : undefined)
          ? new BwrapEnvironment(options)
          : new LocalEnvironment(options)
      },
      (environment) => environment.dispose(),
    )
  },
})
