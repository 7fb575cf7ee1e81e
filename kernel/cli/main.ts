/**
 * The `tau` command line: load config -> assemble the kernel from the preset -> run.
 * The only place in tau that installs signal handlers and decides exit codes.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve as resolvePath } from 'node:path'
import { parseArgs } from 'node:util'
import { Command, CommanderError, Option } from 'commander'
import { type Assembly, assemble, type PresetCatalog } from '../assemble.js'
import { type CliCommand, type CliCommandContext, cliCommandsRef } from '../commands.js'
import { loadConfig } from '../config-loader.js'
import { formatError, isTauError, messageOf, TauError } from '../errors.js'
import { frontendRef } from '../frontend.js'
import { Kernel } from '../lifecycle.js'
import { type LogLevel, maskSecrets, parseLogLevel, redact, secretValuesFrom } from '../logger.js'
import {
  defaultClaudeHome,
  type ManagedSettingsDir,
  managedSettingsDirs,
  settingsSources,
} from '../settings-files.js'
import { didYouMean } from '../suggest.js'
import { tauVersion } from '../version.js'

export interface CliOptions {
  presets: PresetCatalog
  defaultPreset: string
  /** Streams and environment; default to the process's. Tests pass their own. */
  stdin?: NodeJS.ReadableStream
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Set false to leave process signals alone (embedding). */
  handleSignals?: boolean
}

interface CommonFlags {
  config?: string
  preset?: string
  cwd?: string
  debug?: boolean
  logLevel?: string
  /** `tau config --model REF`: the config as it would be with this model (nothing is written). */
  model?: string
}

/** The version from tau's own package.json, found upward from this file (source or dist). */
const VERSION = tauVersion()

function addCommonOptions(command: Command): Command {
  return command
    .version(VERSION, '-v, --version', 'print the version')
    .option('-c, --config <file>', 'use this config file instead of searching for one')
    .option('--preset <name>', 'use this preset instead of the one in config')
    .option('--cwd <dir>', 'run as if started in this directory')
    .option('--debug', 'show debug logs and full stack traces')
    .addOption(
      new Option('--log-level <level>', 'log level for plugin logs on stderr').choices([
        'debug',
        'info',
        'warn',
        'error',
        'silent',
      ]),
    )
}

export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  // The settings files' `env` is written into this env when a kernel configures: into
  // process.env for the command itself, into a copy of any other env given (as createAgent does),
  // so that an embedder's object is never changed.
  const env = options.env === undefined || options.env === process.env ? process.env : { ...options.env }
  // Read at each print: the settings files' `env` is written into env once a kernel configures.
  const print = (stream: NodeJS.WritableStream, text: string) =>
    stream.write(`${maskSecrets(text, secretValuesFrom(env))}\n`)
  let debug = argv.includes('--debug')
  let exitCode = 0

  const prepare = async (flags: CommonFlags, frontendArgv: readonly string[] = []) => {
    debug = flags.debug === true
    const cwd = resolvePath(options.cwd ?? process.cwd(), flags.cwd ?? '.')
    const tauHome = env.TAU_HOME ?? join(homedir(), '.tau')
    const loaded = await loadConfig({ cwd, tauHome, file: flags.config })
    const assembly = await assemble({
      config: flags.model === undefined ? loaded.config : { ...loaded.config, model: flags.model },
      configFile: loaded.file,
      cwd,
      tauHome,
      presets: options.presets,
      preset: flags.preset,
      defaultPreset: options.defaultPreset,
    })
    const level: LogLevel | undefined = flags.debug ? 'debug' : parseLogLevel(flags.logLevel)
    const kernel = new Kernel({
      plugins: assembly.plugins,
      config: assembly.config,
      paths: {
        cwd,
        tauHome,
        configFile: loaded.file,
        claudeHome: defaultClaudeHome(env),
        // From the env runCli is given, like the rest: an embedder's env, not the machine's.
        managedSettings: managedSettingsDirs(env),
      },
      argv: frontendArgv,
      // Plugins read TAU_TRUST and the like from ctx.env: this env, not the process's.
      env,
      ...(level ? { logLevel: level } : {}),
    })
    return { kernel, assembly, file: loaded.file }
  }

  const program = new Command('tau')
    .description('tau: an agent runtime built as a plugin microkernel')
    .version(VERSION, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run `tau --help` for usage)')
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
    })
    .exitOverride()

  addCommonOptions(
    program
      .command('start', { isDefault: true })
      .description('boot the preset and run its frontend; unknown options and arguments go to the frontend')
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]', 'passed to the frontend'),
  ).action(async (args: string[], flags: CommonFlags, command: Command) => {
    const frontendArgv = [...args, ...command.args.filter((a) => !args.includes(a))]
    const { kernel, assembly } = await prepare(flags, frontendArgv)
    const controller = new AbortController()
    const signals = options.handleSignals === false ? undefined : installSignals(kernel, controller)
    // Signal handlers do not keep Node's event loop alive: while tau waits (a frontend listening
    // only to its abort signal, a start tap waiting), this does, until the action ends.
    const keepAlive = setInterval(() => undefined, 1 << 30)
    // A signal ends the wait for start() or the frontend at once, even if they never settle.
    const interrupted = new Promise<'interrupted'>((resolve) =>
      controller.signal.addEventListener('abort', () => resolve('interrupted'), { once: true }),
    )
    try {
      if ((await Promise.race([kernel.start(), interrupted])) === 'interrupted') return
      const frontend = kernel.tryResolve(frontendRef)
      if (frontend) {
        const run = frontend
          .run({
            argv: frontendArgv,
            signal: controller.signal,
            stdin: options.stdin ?? process.stdin,
            stdout,
            stderr,
          })
          .catch((error: unknown) => {
            throw isTauError(error)
              ? error
              : new TauError('TAU_FRONTEND_FAILED', messageOf(error), { cause: error })
          })
        const result = await Promise.race([run, interrupted])
        if (result !== 'interrupted') exitCode = result
      } else {
        print(
          stderr,
          `tau: preset '${assembly.presets.at(-1)}' is ready with ${kernel.plugins.length} plugin${kernel.plugins.length === 1 ? '' : 's'}; it has no frontend, so there is nothing to run. Stopping.`,
        )
      }
    } catch (error) {
      // Stopping because of a signal is not a failure of whatever was interrupted.
      if (!controller.signal.aborted) throw error
    } finally {
      clearInterval(keepAlive)
      try {
        await kernel.stop(controller.signal.aborted ? 'signal' : 'stop')
      } finally {
        signals?.remove()
        if (signals?.exitCode !== undefined) exitCode = signals.exitCode
      }
    }
  })

  addCommonOptions(
    program
      .command('plugins')
      .description('list the resolved plugins in setup order, with the services and hooks each provides')
      .option('--json', 'print JSON'),
  ).action(async (flags: CommonFlags & { json?: boolean }) => {
    const { kernel, assembly, file } = await prepare(flags)
    try {
      await kernel.start({ until: 'setup' })
      const report = kernel.report()
      if (flags.json)
        print(
          stdout,
          JSON.stringify({ file: file ?? null, presets: assembly.presets, plugins: report }, null, 2),
        )
      else print(stdout, renderPlugins(report, assembly, file))
    } finally {
      await kernel.stop()
    }
  })

  addCommonOptions(
    program
      .command('config')
      .description('print the resolved config (defaults applied, secrets masked)')
      .option('--json', 'print only the config, as JSON')
      .option('--model <ref>', 'show the config with this model (nothing is written)'),
  ).action(async (flags: CommonFlags & { json?: boolean }) => {
    const { kernel, assembly, file } = await prepare(flags)
    await kernel.prepare()
    const config = JSON.stringify(redact(kernel.config), jsonReplacer, 2)
    if (flags.json) print(stdout, config)
    else {
      print(stdout, `# file: ${file ?? '(none found; defaults only)'}`)
      print(stdout, `# preset: ${assembly.presets.join(' > ')}`)
      print(stdout, `# plugins: ${kernel.plugins.map((p) => p.name).join(', ') || '(none)'}`)
      print(stdout, settingsPrecedence(kernel.paths, file))
      print(stdout, config)
    }
  })

  // Plugin commands (`tau doctor`, `tau mcp list`, ...) exist only once plugins are set up, so a
  // command word that is not built in sets the kernel up first and registers what plugins add.
  let pluginKernel: Kernel | undefined
  const commandWord = firstPositional(argv)
  const controller = new AbortController()
  let signals: ReturnType<typeof installSignals> | undefined
  try {
    const wantsHelp = argv.includes('--help') || argv.includes('-h')
    if (commandWord === undefined ? wantsHelp : !BUILT_IN_COMMANDS.has(commandWord)) {
      try {
        const { kernel } = await prepare(parseCommonFlags(argv))
        pluginKernel = kernel
        await kernel.start({ until: 'setup' })
        const commands = kernel.tryResolve(cliCommandsRef) ?? []
        let deferStop = false
        signals =
          options.handleSignals === false ? undefined : installSignals(kernel, controller, () => deferStop)
        registerPluginCommands(program, commands, async (command, args, flags) => {
          // A command that ends its own work on the signal runs before the kernel stops (below).
          deferStop = command.stopsOnSignal === true
          if (command.needs === 'start') await kernel.start()
          const code = await command.run({
            args,
            options: flags,
            stdout,
            stderr,
            stdin: options.stdin ?? process.stdin,
            signal: controller.signal,
          })
          exitCode = typeof code === 'number' ? code : 0
        })
        if (commandWord !== undefined && !program.commands.some((c) => c.name() === commandWord)) {
          const known = [...BUILT_IN_COMMANDS, ...program.commands.map((c) => c.name())]
          throw new TauError(
            'TAU_CLI_USAGE',
            `unknown command 'tau ${commandWord}'${didYouMean(commandWord, known)}`,
            {
              details: [`commands: ${[...new Set(known)].filter((c) => c !== 'help').join(', ')}`],
            },
          )
        }
      } catch (error) {
        // `tau --help` in a directory whose config is broken still shows the built-in commands.
        if (commandWord !== undefined) throw error
        await pluginKernel?.stop().catch(() => undefined)
        pluginKernel = undefined
      }
    }
    await program.parseAsync([...argv], { from: 'user' })
    if (pluginKernel) await pluginKernel.stop(controller.signal.aborted ? 'signal' : 'stop')
    if (signals?.exitCode !== undefined) exitCode = signals.exitCode
    return exitCode
  } catch (error) {
    await pluginKernel?.stop().catch(() => undefined)
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they exit 0.
      return error.exitCode
    }
    print(stderr, formatError(error, { debug }))
    return 1
  } finally {
    signals?.remove()
  }
}

/** The settings layers in the order they count, for `tau config`. */
function settingsPrecedence(
  paths: {
    projectDir: string
    tauHome: string
    claudeHome: string
    managedSettings: readonly ManagedSettingsDir[]
  },
  configFile: string | undefined,
): string {
  const lines = [
    '# settings files, highest precedence first (managed, then --settings, above all; --setting-sources picks scopes):',
  ]
  for (const source of settingsSources(paths)) {
    if (source.scope === 'user' && !lines.some((l) => l.includes('(config)')))
      lines.push(`#   ${configFile ?? 'tau.config.ts (none found)'} (config)`)
    lines.push(`#   ${source.file} (${source.scope}${existsSync(source.file) ? '' : ', not found'})`)
  }
  lines.push(
    `# managed (policy) files: managed-settings.json and managed-settings.d/*.json in ${paths.managedSettings
      .map((d) => d.dir)
      .join(' and ')}; always read`,
    '# local and project files widen permissions and run hooks only in a trusted workspace (tau trust)',
  )
  return lines.join('\n')
}

const BUILT_IN_COMMANDS = new Set(['start', 'plugins', 'config', 'help'])

const COMMON_FLAGS = {
  config: { type: 'string', short: 'c' },
  preset: { type: 'string' },
  cwd: { type: 'string' },
  debug: { type: 'boolean' },
  'log-level': { type: 'string' },
} as const

/** The common flags, read leniently from anywhere in argv (other options are ignored here). */
function parseCommonFlags(argv: readonly string[]): CommonFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: COMMON_FLAGS,
    strict: false,
    allowPositionals: true,
  })
  const flags: CommonFlags = {}
  if (typeof values.config === 'string') flags.config = values.config
  if (typeof values.preset === 'string') flags.preset = values.preset
  if (typeof values.cwd === 'string') flags.cwd = values.cwd
  if (values.debug === true) flags.debug = true
  if (typeof values['log-level'] === 'string') flags.logLevel = values['log-level']
  return flags
}

/**
 * The command word: the first positional, unless an option that is not a common flag comes before
 * it. Such an option is the default command's (`tau -p hi` is `tau start -p hi`, as `claude -p hi`
 * is Claude Code's), and what follows it is that option's value or the frontend's arguments.
 */
function firstPositional(argv: readonly string[]): string | undefined {
  const { tokens } = parseArgs({
    args: [...argv],
    options: COMMON_FLAGS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  for (const token of tokens) {
    if (token.kind === 'positional') return token.value
    if (token.kind === 'option-terminator') return argv[token.index + 1]
    if (!Object.hasOwn(COMMON_FLAGS, token.name) && !ROOT_FLAGS.has(token.name)) return undefined
  }
  return undefined
}

/** What the root command itself takes besides the common flags. */
const ROOT_FLAGS = new Set(['h', 'help', 'v', 'version'])

type RunPluginCommand = (
  command: CliCommand,
  args: CliCommandContext['args'],
  flags: Record<string, unknown>,
) => Promise<void>

function registerPluginCommands(
  program: Command,
  commands: readonly CliCommand[],
  run: RunPluginCommand,
): void {
  const taken = new Set<string>()
  for (const command of commands) {
    const words = command.name.trim().split(/\s+/)
    if (words.length > 2 || words.some((w) => !/^[a-z][a-z0-9-]*$/.test(w))) {
      throw new TauError(
        'TAU_CLI_USAGE',
        `a plugin adds a command named '${command.name}': use one or two lowercase words`,
      )
    }
    const key = words.join(' ')
    if (taken.has(key) || BUILT_IN_COMMANDS.has(key)) {
      throw new TauError(
        'TAU_CLI_USAGE',
        `two plugins add the command 'tau ${key}' (or it shadows a built-in command)`,
      )
    }
    taken.add(key)
    let parent = program
    if (words.length === 2) {
      const group = words[0]!
      parent =
        program.commands.find((c) => c.name() === group) ??
        program.command(group).description(`${group} commands (run \`tau ${group} --help\`)`)
    }
    const sub = addCommonOptions(parent.command(words.at(-1)!).description(command.description))
    for (const arg of command.arguments ?? []) sub.argument(arg.name, arg.description ?? '')
    for (const option of command.options ?? []) sub.option(option.flags, option.description, option.default)
    sub.action(async (...actionArgs: unknown[]) => {
      const cmd = actionArgs.at(-1) as Command
      await run(command, actionArgs.slice(0, -2) as CliCommandContext['args'], cmd.opts())
    })
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'function') return '[function]'
  if (typeof value === 'bigint') return value.toString()
  return value
}

function renderPlugins(
  report: ReturnType<Kernel['report']>,
  assembly: Assembly,
  file: string | undefined,
): string {
  const lines = [`config: ${file ?? '(none)'}`, `preset: ${assembly.presets.join(' > ')}`]
  if (report.length === 0) {
    lines.push('plugins: none')
    return lines.join('\n')
  }
  lines.push(`plugins, in setup order:`)
  report.forEach((plugin, i) => {
    const title = [plugin.name, plugin.version].filter(Boolean).join('@')
    lines.push(`  ${i + 1}. ${title}${plugin.description ? ` - ${plugin.description}` : ''}`)
    if (plugin.dependsOn.length > 0) lines.push(`     depends on: ${plugin.dependsOn.join(', ')}`)
    lines.push(`     config key: ${plugin.configKey}`)
    if (plugin.services.length > 0) lines.push(`     provides: ${plugin.services.join(', ')}`)
    if (plugin.hooks.length > 0)
      lines.push(`     declares hooks: ${plugin.hooks.map((h) => `${h.name} (${h.kind})`).join(', ')}`)
    if (plugin.taps.length > 0) lines.push(`     taps: ${plugin.taps.join(', ')}`)
  })
  return lines.join('\n')
}

/** SIGINT/SIGTERM: abort the frontend and stop the kernel; a second signal exits at once. */
function installSignals(
  kernel: Kernel,
  controller: AbortController,
  /** True while a command that ends its own work on the signal runs: the kernel stops after it. */
  deferStop: () => boolean = () => false,
): { remove(): void; readonly exitCode: number | undefined } {
  let received = 0
  let exitCode: number | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    received++
    const code = signal === 'SIGINT' ? 130 : 143
    if (received > 1) {
      process.stderr.write(`tau: ${signal} again, exiting without waiting\n`)
      process.exit(code)
    }
    exitCode = code
    controller.abort(new Error(signal))
    if (deferStop()) return
    // The command's own code awaits the same stop() and reports its failures, once, masked.
    kernel.stop('signal').then(
      () => forceExitSoon(code),
      () => forceExitSoon(code),
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    remove() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
    get exitCode() {
      return exitCode
    },
  }
}

/**
 * After a signal and a finished stop, the process should end even if a plugin left a timer or
 * socket behind. The timer is unref'd: when nothing else holds the loop, Node exits sooner.
 */
function forceExitSoon(code: number): void {
  setTimeout(() => process.exit(code), 2_000).unref()
}
