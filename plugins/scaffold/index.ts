/**
 * The `scaffold` plugin: `tau init` (a commented tau.config.ts, .tau/settings.json with
 * permission rules for the project's own commands, and a TAU.md, from a quick scan of the
 * project) and `tau plugin new NAME` (a third-party plugin package that type-checks and whose
 * test passes as generated). Neither overwrites a file without asking; `--yes` for scripts.
 */
import { readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { cliCommandsRef, defineErrors, definePlugin, parseModelRef, TauError } from '../../kernel/index.js'
import { agentRuntimeRef } from '../agent/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { findTauPackage } from '../skills/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { writeMemoryByAgent } from './agent-memory.js'
import { configFile, memoryFile, settingsFile, settingsRules } from './init-files.js'
import { chooseModel } from './model-choice.js'
import { PLUGIN_NAME, pluginFiles, type TauPackageInfo } from './plugin-template.js'
import { scanProject } from './project-scan.js'
import { type WriteOutcome, writeScaffoldFile } from './write-files.js'

export { AGENT_INIT_PROMPT } from './agent-memory.js'
export { configFile, type ModelChoice, memoryFile, settingsFile, settingsRules } from './init-files.js'
export { camelCase, PLUGIN_NAME, pluginFiles, type TauPackageInfo } from './plugin-template.js'
export { type Ecosystem, type ProjectCommand, type ProjectScan, scanProject } from './project-scan.js'

export const SCAFFOLD_ERRORS = defineErrors('scaffold', {
  TAU_SCAFFOLD_USAGE: {
    title: 'tau init or tau plugin new was given something it cannot use',
    hint: 'Check the value named in the message; `tau init --help` and `tau plugin new --help` list the options.',
    userError: true,
  },
})

/** tau's own package.json: the npm name and versions the files name (never written twice). */
function tauPackage(): TauPackageInfo {
  const pkg = findTauPackage()
  if (!pkg)
    throw new TauError('TAU_SCAFFOLD_USAGE', "cannot find tau's own package.json to name it in the files")
  return JSON.parse(readFileSync(join(pkg.root, 'package.json'), 'utf8')) as TauPackageInfo
}

const tauPackageName = (): string => tauPackage().name

function report(outcome: WriteOutcome, name: string): string {
  if (outcome === 'kept') return `kept     ${name} (it exists; run with --yes to replace it)`
  return `${outcome.padEnd(8)} ${name}`
}

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
      async run({ options, stdout, stderr, stdin, signal }) {
        const dir = ctx.paths.cwd
        let model: { ref: string | undefined; reason: string }
        if (typeof options.model === 'string') {
          const parsed = parseModelRef(options.model)
          if (!parsed.ok)
            throw new TauError('TAU_SCAFFOLD_USAGE', `--model '${options.model}': ${parsed.error}`)
          model = { ref: options.model, reason: 'Given to `tau init --model`' }
        } else {
          model = await chooseModel(ctx.tryResolve(providerRegistryRef), signal)
        }
        const scan = scanProject(dir)
        const write = { yes: options.yes === true, stdin, stderr }
        const files: Array<[string, string]> = [
          ['tau.config.ts', configFile(scan, model, tauPackageName())],
          [join('.tau', 'settings.json'), settingsFile(settingsRules(scan))],
          ['TAU.md', memoryFile(scan)],
        ]
        const lines: string[] = []
        const outcomes = new Map<string, WriteOutcome>()
        for (const [name, text] of files) {
          const outcome = await writeScaffoldFile(join(dir, name), text, dir, write)
          outcomes.set(name, outcome)
          lines.push(report(outcome, name))
        }
        // A model configured before init (the project's config, settings, or --model): the agent
        // rewrites the scan's TAU.md from the project itself. A TAU.md that was kept is left alone.
        const configured =
          typeof options.model === 'string'
            ? options.model
            : typeof ctx.rootConfig.model === 'string'
              ? ctx.rootConfig.model
              : undefined
        const runtime = ctx.tryResolve(agentRuntimeRef)
        if (configured && runtime && options.scan !== true && outcomes.get('TAU.md') !== 'kept') {
          stderr.write(`TAU.md: the agent (${configured}) is reading the project...\n`)
          const agent = await writeMemoryByAgent({
            runtime,
            cwd: dir,
            model: configured,
            toolNames:
              ctx
                .tryResolve(toolRegistryRef)
                ?.list()
                .map((tool) => tool.name) ?? [],
            signal,
            onTool: (name, target) => stderr.write(`  ${name} ${target}\n`),
          })
          lines.push(
            agent.ok && agent.wrote
              ? `written  TAU.md by the agent (${configured}, ${agent.turns} turn${agent.turns === 1 ? '' : 's'})`
              : `kept     TAU.md from the scan: the agent did not write it (${agent.error ?? 'it made no change'})`,
          )
        }
        lines.push(
          '',
          `project: ${scan.name}${scan.ecosystems.length > 0 ? ` (${scan.ecosystems.join(', ')}; ${scan.packageManagers.join(', ')})` : ''}`,
          `model:   ${model.ref ?? '(none found; set `model` in tau.config.ts)'}`,
          '',
          'next: `tau doctor` checks the model, `tau permissions list` shows the rules, `tau` starts a session.',
        )
        stdout.write(`${lines.join('\n')}\n`)
        return 0
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
      async run({ args, options, stdout, stderr, stdin }) {
        const name = String(args[0] ?? '')
        if (!PLUGIN_NAME.test(name))
          throw new TauError(
            'TAU_SCAFFOLD_USAGE',
            `'${name}' is not a plugin name: use lowercase letters, digits and single hyphens, starting with a letter (e.g. 'audit-log')`,
          )
        const dir = resolve(ctx.paths.cwd, typeof options.dir === 'string' ? options.dir : name)
        const write = { yes: options.yes === true, stdin, stderr }
        const lines: string[] = []
        for (const [file, text] of Object.entries(pluginFiles(name, tauPackage())))
          lines.push(report(await writeScaffoldFile(join(dir, file), text, dir, write), file))
        const where = relative(ctx.paths.cwd, dir) || '.'
        lines.push(
          '',
          `plugin '${name}' in ${where}/ (package tau-plugin-${name})`,
          `next: cd ${where} && npm install && npm run typecheck && npm test`,
          `then add it to a project's tau.config.ts: plugins: ['${join(where, 'index.ts')}'] (a path) or 'tau-plugin-${name}' (installed)`,
        )
        stdout.write(`${lines.join('\n')}\n`)
        return 0
      },
    })
  },
})
