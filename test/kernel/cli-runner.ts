/**
 * The CLI's main, in-process, in a test's own folder: its stdout and stderr captured, and an
 * environment that never names the machine's ~/.claude, tau home or /etc policy files.
 */
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { runCli } from '../../kernel/cli/main.js'
import { definePreset, type PresetCatalog } from '../../kernel/index.js'

export interface CliRun {
  readonly code: number
  readonly out: string
  readonly err: string
}

export interface CliRunnerOptions {
  /** The folder the CLI runs in; its home, Claude home and policy folder are inside it. */
  readonly dir: () => string
  /** The presets (default: one empty preset, `none`). */
  readonly presets?: PresetCatalog
  readonly defaultPreset?: string
  /** The policy folder (TAU_MANAGED_SETTINGS_DIR), relative to dir (default `.managed`). */
  readonly managedDir?: string
  /** More variables for runCli's env (TAU_TRUST, ...), over the folder's three. */
  readonly env?: NodeJS.ProcessEnv
}

/** A `cli(...argv)` that runs `tau argv` in-process with the options' presets and folder. */
export function cliRunner(options: CliRunnerOptions): (...argv: string[]) => Promise<CliRun> {
  const presets = options.presets ?? { none: async () => definePreset({ name: 'none' }) }
  const defaultPreset = options.defaultPreset ?? 'none'
  return async (...argv) => {
    const dir = options.dir()
    const managed = join(dir, options.managedDir ?? '.managed')
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let out = ''
    let err = ''
    stdout.on('data', (chunk) => {
      out += chunk
    })
    stderr.on('data', (chunk) => {
      err += chunk
    })
    const code = await runCli(argv, {
      presets,
      defaultPreset,
      cwd: dir,
      stdout,
      stderr,
      // Never the machine's ~/.claude or /etc policy files: this env replaces process.env.
      env: {
        TAU_HOME: join(dir, '.home'),
        CLAUDE_CONFIG_DIR: join(dir, '.claude-home'),
        TAU_MANAGED_SETTINGS_DIR: managed,
        ...options.env,
      },
      handleSignals: false,
    })
    return { code, out, err }
  }
}
