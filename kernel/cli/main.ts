/**
 * The `tau` command line: load config -> assemble the kernel from the preset -> run.
 * The only place in tau that installs signal handlers and decides exit codes.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { type Assembly, assemble, type PresetCatalog } from '../assemble.js'
import { loadConfig } from '../config-loader.js'
import { formatError, isTauError, messageOf, TauError } from '../errors.js'
import { frontendRef } from '../frontend.js'
import { Kernel } from '../lifecycle.js'
import { type LogLevel, maskSecrets, parseLogLevel, redact, secretValuesFrom } from '../logger.js'

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
}

/** The version from tau's own package.json, found upward from this file (source or dist). */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'tau' && pkg.version) return pkg.version
    } catch {
      // no package.json here; keep going up
    }
    const parent = dirname(dir)
    if (parent === dir) return '0.0.0'
    dir = parent
  }
}

const VERSION = readVersion()

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
  const env = options.env ?? process.env
  const secrets = secretValuesFrom(env)
  const print = (stream: NodeJS.WritableStream, text: string) =>
    stream.write(`${maskSecrets(text, secrets)}\n`)
  let debug = argv.includes('--debug')
  let exitCode = 0

  const prepare = async (flags: CommonFlags) => {
    debug = flags.debug === true
    const cwd = resolvePath(options.cwd ?? process.cwd(), flags.cwd ?? '.')
    const tauHome = env.TAU_HOME ?? join(homedir(), '.tau')
    const loaded = await loadConfig({ cwd, tauHome, file: flags.config })
    const assembly = await assemble({
      config: loaded.config,
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
      paths: { cwd, tauHome, configFile: loaded.file },
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
      .command('start')
      .description('boot the preset and run its frontend; unknown options and arguments go to the frontend')
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]', 'passed to the frontend'),
  ).action(async (args: string[], flags: CommonFlags, command: Command) => {
    const { kernel, assembly } = await prepare(flags)
    const controller = new AbortController()
    const signals = options.handleSignals === false ? undefined : installSignals(kernel, controller, stderr)
    try {
      await kernel.start()
      const frontend = kernel.tryResolve(frontendRef)
      if (frontend) {
        exitCode = await frontend
          .run({
            argv: [...args, ...command.args.filter((a) => !args.includes(a))],
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
      } else {
        print(
          stderr,
          `tau: preset '${assembly.presets.at(-1)}' is ready with ${kernel.plugins.length} plugin${kernel.plugins.length === 1 ? '' : 's'}; it has no frontend, so there is nothing to run. Stopping.`,
        )
      }
    } finally {
      await kernel.stop(controller.signal.aborted ? 'signal' : 'stop').finally(() => signals?.remove())
      if (signals?.exitCode !== undefined) exitCode = signals.exitCode
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
      .option('--json', 'print only the config, as JSON'),
  ).action(async (flags: CommonFlags & { json?: boolean }) => {
    const { kernel, assembly, file } = await prepare(flags)
    await kernel.prepare()
    const config = JSON.stringify(redact(kernel.config), jsonReplacer, 2)
    if (flags.json) print(stdout, config)
    else {
      print(stdout, `# file: ${file ?? '(none found; defaults only)'}`)
      print(stdout, `# preset: ${assembly.presets.join(' > ')}`)
      print(stdout, `# plugins: ${kernel.plugins.map((p) => p.name).join(', ') || '(none)'}`)
      print(stdout, config)
    }
  })

  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; they exit 0.
      return error.exitCode
    }
    print(stderr, formatError(error, { debug }))
    return 1
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
  stderr: NodeJS.WritableStream,
): { remove(): void; readonly exitCode: number | undefined } {
  let received = 0
  let exitCode: number | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    received++
    if (received > 1) {
      stderr.write(`tau: ${signal} again, exiting without waiting\n`)
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    controller.abort(new Error(signal))
    exitCode = signal === 'SIGINT' ? 130 : 143
    // Without a frontend holding the process, stopping here is what ends it.
    kernel.stop('signal').catch((error: unknown) => {
      stderr.write(`${formatError(error)}\n`)
    })
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
