/**
 * The bodies of `tau init` and `tau plugin new`: the project scan, the files' templates, the model
 * choice and the writer. index.ts loads this with `import()` when one of them runs, so none of it
 * is initialised at every start of tau (docs/benchmarks.md).
 */
import { readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { type CliCommandContext, type PluginContext, parseModelRef, TauError } from '../../kernel/index.js'
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

/** `tau init`. */
export async function runInit(
  ctx: PluginContext<unknown>,
  { options, stdout, stderr, stdin, signal }: CliCommandContext,
): Promise<number> {
  const dir = ctx.paths.cwd
  let model: { ref: string | undefined; reason: string }
  if (typeof options.model === 'string') {
    const parsed = parseModelRef(options.model)
    if (!parsed.ok) throw new TauError('TAU_SCAFFOLD_USAGE', `--model '${options.model}': ${parsed.error}`)
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
}

/** `tau plugin new NAME`. */
export async function runPluginNew(
  ctx: PluginContext<unknown>,
  { args, options, stdout, stderr, stdin }: CliCommandContext,
): Promise<number> {
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
}
