/**
 * The `permissions` plugin: decides each tool call (allow, deny or ask) from rules in Claude
 * Code's syntax and the session's permission mode, and adds `tau permissions list|explain`.
 *
 * Rules come from tau.config.ts (`permissions: { allow, ask, deny, defaultMode, ... }`), from
 * `.tau/settings.json`, `.tau/settings.local.json` and `<tauHome>/settings.json`, Claude Code's
 * `.claude/settings*.json` and `~/.claude/settings.json`, `--settings`, from the
 * command line (Permissions.setCliRules) and from the session (Permissions.addRule).
 */
import { cliCommandsRef, definePlugin, type RawConfig, TauError } from '../../kernel/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { TRUST_HINT, trustOf, WorkspaceTrust } from '../trust/index.js'
import { permissionsCommands } from './commands.js'
import { PERMISSIONS_ERRORS } from './errors.js'
import { describeSource, PermissionsBase, SessionPermissions } from './service.js'
import { loadSettings, permissionsConfig, settingsOptions } from './settings.js'
import { readEnvAndModel } from './settings-env.js'
import { type PermissionProblem, permissionsRef } from './types.js'

export { PERMISSIONS_ERRORS } from './errors.js'
export { parseRule, parseRuleList } from './rules.js'
export { describeSource, SessionPermissions } from './service.js'
export {
  claudeSettingsFile,
  type FileScope,
  type ManagedSwitch,
  managedSwitch,
  needsTrust,
  PERMISSION_MODES,
  type PermissionsConfig,
  permissionsConfig,
  readSettingsJson,
  readSettingsSource,
  SETTING_SOURCES,
  type SettingsOptions,
  type SettingsPaths,
  type SettingsSource,
  settingsFile,
  settingsOptions,
  settingsSources,
} from './settings.js'
export { type ShellPart, type SplitResult, splitShellCommand } from './shell-split.js'
export * from './types.js'

const problemLine = (problem: PermissionProblem) =>
  `${problem.rule === undefined ? '' : `permission rule ${problem.rule} (${problem.behavior}) `}in ${describeSource(problem.source)}: ${problem.message}`

export default definePlugin({
  name: 'permissions',
  description: 'Decides each tool call (allow, deny or ask) and adds `tau permissions list|explain`',
  // The tool registry, when loaded, names the tools rules may refer to; permissions work without it.
  // trust: whether the project's own files may widen permissions (read before setup here).
  optionalDependsOn: ['tools', 'trust'],
  config: permissionsConfig,
  // The settings files' `env` and `model` (settings-env.ts): before any setup, so providers see them.
  configure(config, api) {
    const trusted = new WorkspaceTrust(api.paths, api.argv, api.env).trusted
    const found = readEnvAndModel(api.paths, settingsOptions(api.argv), trusted)
    for (const item of found.skipped)
      api.logger.warn(`${item} not applied: the workspace is not trusted; ${TRUST_HINT}`)
    const next: RawConfig = { ...config }
    const names = Object.keys(found.env)
    if (names.length > 0) {
      // Into the kernel's env (ctx.env of every plugin), which providers, hooks, MCP servers and
      // tools read: process.env only when the kernel runs on it (the tau command), an embedder's
      // own env otherwise, so two kernels in one process keep their settings apart.
      for (const name of names) {
        if (!Reflect.set(api.env, name, found.env[name]))
          throw new TauError(
            PERMISSIONS_ERRORS.TAU_SETTINGS_ENV_READ_ONLY,
            `the kernel's env is read-only: ${name} of the settings files' \`env\` cannot be set`,
            { plugin: 'permissions' },
          )
      }
      // Tool and hook processes get an allowlisted environment: these variables join it.
      if (api.plugins.includes('sandbox')) {
        const sandbox = (config.sandbox ?? {}) as Record<string, unknown>
        const env = (sandbox.env ?? {}) as Record<string, unknown>
        const set = (env.set ?? {}) as Record<string, unknown>
        next.sandbox = { ...sandbox, env: { ...env, set: { ...found.env, ...set, ...found.managedEnv } } }
      }
      api.logger.debug('settings env applied', { names })
    }
    const model = found.model
    if (model && (model.overConfig || config.model === undefined)) next.model = model.value
    return next
  },
  setup(ctx) {
    // Settings files are read here, synchronously: a malformed one stops tau before anything runs.
    // Both views are read now; which applies is decided per session, as trust may come at start.
    const options = settingsOptions(ctx.argv)
    const trust = trustOf(ctx)
    const trusted = loadSettings(ctx.config, ctx.paths, options)
    const untrusted = trust.trusted
      ? trusted
      : loadSettings(ctx.config, ctx.paths, { ...options, trusted: false })
    for (const item of untrusted.skipped) trust.skip(item)
    const current = () => (trust.trusted ? trusted : untrusted)
    const base = new PermissionsBase(current, ctx.paths, ctx.logger, () => ctx.tryResolve(toolRegistryRef))

    // Rules that can never match: what their text tells now, unknown tool names once every
    // plugin (and every start tap, which may connect MCP servers) has registered its tools.
    const reported = new Set<string>()
    const report = (problems: readonly PermissionProblem[]) => {
      for (const problem of problems) {
        const line = problemLine(problem)
        if (reported.has(line)) continue
        reported.add(line)
        ctx.logger.warn(line)
      }
    }
    report(new SessionPermissions(base, ctx.paths.cwd).findProblems(undefined))
    ctx.hooks.ready.tap(() => {
      report(new SessionPermissions(base, ctx.paths.cwd).problems())
    })

    ctx.provide(permissionsRef, (session) => new SessionPermissions(base, session.cwd))

    const modeSource = () => {
      const source = current().defaultModeSource
      return source === undefined ? 'the default' : `defaultMode in ${describeSource(source)}`
    }
    for (const command of permissionsCommands({
      create: () => new SessionPermissions(base, ctx.paths.cwd),
      modeSource,
    })) {
      ctx.provide(cliCommandsRef, command)
    }
  },
})
