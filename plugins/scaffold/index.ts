/**
 * The `scaffold` plugin: `tau init` (a commented tau.config.ts, .tau/settings.json with
 * permission rules for the project's own commands, and a TAU.md, from a quick scan of the
 * project) and `tau plugin new NAME` (a third-party plugin package that type-checks and whose
 * test passes as generated). Neither overwrites a file without asking; `--yes` for scripts.
 */
import { cliCommandsRef, defineErrors, definePlugin } from '../../kernel/index.js'

export type { ModelChoice } from './init-files.js'
export type { TauPackageInfo } from './plugin-template.js'
export type { Ecosystem, ProjectCommand, ProjectScan } from './project-scan.js'
// The values (scanProject, the templates, AGENT_INIT_PROMPT, ...) are in public.ts.

export const SCAFFOLD_ERRORS = defineErrors('scaffold', {
  TAU_SCAFFOLD_USAGE: {
    title: 'tau init or tau plugin new was given something it cannot use',
    hint: 'Check the value named in the message; `tau init --help` and `tau plugin new --help` list the options.',
    userError: true,
  },
})

export default definePlugin({
  name: 'scaffold',
  description: '`tau init` (config, permission settings and TAU.md for a project) and `tau plugin new`',
  optionalDependsOn: ['providers', 'agent', 'tools'],
  setup(ctx) {
    ctx.provide(cliCommandsRef, {
      name: 'init',
      // Started: with a model configured, an agent session writes TAU.md.
      needs: 'start',
      description:
        'write a commented tau.config.ts, .tau/settings.json (permissions for the project’s commands) and TAU.md; never overwrites without asking',
      options: [
        { flags: '-y, --yes', description: 'replace existing files without asking (for scripts)' },
        {
          flags: '--model <ref>',
          description: 'the model for the config, instead of the one found (provider:model)',
        },
        {
          flags: '--scan',
          description: 'write TAU.md from the quick scan only, even when a model is configured',
        },
      ],
      async run(command) {
        // The scan, the templates and the file writer load only now (not at every start of tau).
        return (await import('./commands.js')).runInit(ctx, command)
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'plugin new',
      description:
        'scaffold a third-party plugin package: definePlugin with a config schema, a service, a hook, a test, a README',
      arguments: [
        { name: '<name>', description: 'the plugin name, kebab-case (the package is tau-plugin-<name>)' },
      ],
      options: [
        { flags: '--dir <dir>', description: 'where to write it (default: ./<name>)' },
        { flags: '-y, --yes', description: 'replace existing files without asking (for scripts)' },
      ],
      async run(command) {
        return (await import('./commands.js')).runPluginNew(ctx, command)
      },
    })
  },
})
