/**
 * The `permissions` plugin: decides each tool call (allow, deny or ask) from rules in Claude
 * Code's syntax and the session's permission mode, and adds `tau permissions list|explain`.
 *
 * Rules come from tau.config.ts (`permissions: { allow, ask, deny, defaultMode, ... }`), from
 * `.tau/settings.json`, `.tau/settings.local.json` and `<tauHome>/settings.json`, from the
 * command line (Permissions.setCliRules) and from the session (Permissions.addRule).
 */
import { cliCommandsRef, definePlugin } from '../../kernel/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { permissionsCommands } from './commands.js'
import { describeSource, PermissionsBase, SessionPermissions } from './service.js'
import { loadSettings, permissionsConfig } from './settings.js'
import { type PermissionProblem, permissionsRef } from './types.js'

export { parseRule, parseRuleList } from './rules.js'
export { describeSource, SessionPermissions } from './service.js'
export {
  type FileScope,
  PERMISSION_MODES,
  type PermissionsConfig,
  permissionsConfig,
  readSettingsJson,
  type SettingsPaths,
  settingsFile,
} from './settings.js'
export { type ShellPart, type SplitResult, splitShellCommand } from './shell-split.js'
export * from './types.js'

const problemLine = (problem: PermissionProblem) =>
  `${problem.rule === undefined ? '' : `permission rule ${problem.rule} (${problem.behavior}) `}in ${describeSource(problem.source)}: ${problem.message}`

export default definePlugin({
  name: 'permissions',
  description: 'Decides each tool call (allow, deny or ask) and adds `tau permissions list|explain`',
  // The tool registry, when loaded, names the tools rules may refer to; permissions work without it.
  optionalDependsOn: ['tools'],
  config: permissionsConfig,
  setup(ctx) {
    // Settings files are read here, synchronously: a malformed one stops tau before anything runs.
    const settings = loadSettings(ctx.config, ctx.paths)
    const base = new PermissionsBase(settings, ctx.paths, ctx.logger, () => ctx.tryResolve(toolRegistryRef))

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

    const modeSource = () =>
      settings.defaultModeSource === undefined
        ? 'the default'
        : `defaultMode in ${describeSource(settings.defaultModeSource)}`
    for (const command of permissionsCommands({
      create: () => new SessionPermissions(base, ctx.paths.cwd),
      modeSource,
    })) {
      ctx.provide(cliCommandsRef, command)
    }
  },
})
