/**
 * The `sandbox` plugin: where tools touch files and run processes. It provides the session-scoped
 * `sandbox.environment` service; this version is the local environment, fenced to the session's
 * working directory and the configured roots. A sandboxed or container environment replaces it
 * through the same service, without touching the tools.
 */
import { resolve } from 'node:path'
import { definePlugin } from '../../kernel/index.js'
import { sandboxConfig } from './config.js'
import { environmentRef } from './environment.js'
import { LocalEnvironment } from './local.js'
import { absoluteFrom } from './workspace-paths.js'

export { type SandboxConfig, sandboxConfig } from './config.js'
export {
  buildProcessEnv,
  createEnvAllowlist,
  DEFAULT_ENV_ALLOW,
  type EnvAllowlist,
  isSecretName,
} from './env-allowlist.js'
export {
  type Environment,
  EnvironmentError,
  type EnvironmentErrorKind,
  type ExecOptions,
  type ExecResult,
  environmentRef,
  type FileStat,
} from './environment.js'
export { LocalEnvironment, type LocalEnvironmentOptions } from './local.js'
export { type GroupRunOptions, type RunningProcess, runInGroup } from './process-group.js'
export { absoluteFrom, insideRoots, realPathOf, realPathSyncOf } from './workspace-paths.js'

export default definePlugin({
  name: 'sandbox',
  description: 'Where tools touch files and run processes: the local machine, fenced to the workspace',
  config: sandboxConfig,
  setup(ctx) {
    const roots = ctx.config.roots.map((root) => resolve(absoluteFrom(ctx.paths.projectDir, root)))
    ctx.provide(
      environmentRef,
      (session) =>
        new LocalEnvironment({
          cwd: session.cwd,
          roots,
          envAllow: ctx.config.env.allow,
          envSet: ctx.config.env.set,
          killGraceMs: ctx.config.killGraceMs,
          logger: ctx.logger,
        }),
      (environment) => (environment instanceof LocalEnvironment ? environment.dispose() : undefined),
    )
  },
})
