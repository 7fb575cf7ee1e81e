/**
 * The kernel's test kit; `tau-agent/testing` (sdk/testing.ts) adds the built-in presets and plugins.
 *
 * A test kernel runs the real kernel (ordering, validation, hooks, services, sessions) with the
 * plugins you give it, a fresh temporary TAU_HOME and working directory, and log records
 * captured in memory instead of printed.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assemble, type PresetCatalog } from '../assemble.js'
import type { TauConfig } from '../config.js'
import { Kernel } from '../lifecycle.js'
import type { LogLevel, LogRecord } from '../logger.js'
import { definePreset, type PluginEntry, type Preset, type TauPlugin } from '../plugin.js'

export interface TestKernelOptions {
  /** Plugins under test, plus whatever they depend on. */
  plugins?: readonly PluginEntry[]
  /**
   * A preset to start from (its plugins come before `plugins`): a definePreset() value, or a name
   * in `presets` (`tau-agent/testing` knows the built-in ones: `preset: 'coding'`).
   */
  preset?: Preset | string
  /** Presets that `preset` and `preset.extends` may name (default: none). */
  presets?: PresetCatalog
  /**
   * Plugins by name that the kernel adds when a plugin's `dependsOn` names one that is not
   * loaded (`tau-agent/testing`: the built-in plugins), so a test lists only the plugins under
   * test. A dependency found nowhere is the kernel's usual missing-dependency error.
   */
  available?: Readonly<Record<string, TauPlugin>>
  /** Config slices and kernel keys, as in tau.config.ts. */
  config?: TauConfig
  /** Working directory (default: a fresh temporary directory). */
  cwd?: string
  /** TAU_HOME (default: a fresh temporary directory). */
  tauHome?: string
  /**
   * Claude Code's user directory, where ~/.claude/settings.json and agents/ would be (default:
   * `<tauHome>/claude-home`, inside the temporary home), so no test reads the real ~/.claude.
   */
  claudeHome?: string
  /** Log level of captured records (default 'debug': everything is kept). */
  logLevel?: LogLevel
  /** Set false to get a kernel that is assembled but not started. */
  start?: boolean
  setupTimeout?: number
  teardownTimeout?: number
}

export class TestKernel extends Kernel {
  /** Every log record plugins wrote, in order. */
  readonly logs: LogRecord[]
  private readonly cleanup: string[]

  constructor(options: ConstructorParameters<typeof Kernel>[0], logs: LogRecord[], cleanup: string[]) {
    super(options)
    this.logs = logs
    this.cleanup = cleanup
  }

  /** Stops the kernel and removes the temporary directories it created. */
  override async stop(reason?: Parameters<Kernel['stop']>[0]): Promise<void> {
    try {
      await super.stop(reason)
    } finally {
      await Promise.all(this.cleanup.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}

export async function createTestKernel(options: TestKernelOptions = {}): Promise<TestKernel> {
  const cleanup: string[] = []
  const temp = async (prefix: string) => {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    cleanup.push(dir)
    return dir
  }
  const cwd = options.cwd ?? (await temp('tau-test-cwd-'))
  const tauHome = options.tauHome ?? (await temp('tau-test-home-'))
  const assembly = await assemble({
    config: {
      ...options.config,
      preset: options.preset ?? definePreset({ name: 'test' }),
      plugins: [...(options.plugins ?? []), ...(options.config?.plugins ?? [])],
    },
    cwd,
    tauHome,
    presets: options.presets ?? {},
  }).catch(async (error: unknown) => {
    await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })))
    throw error
  })
  const logs: LogRecord[] = []
  const kernel = new TestKernel(
    {
      plugins: withDependencies(assembly.plugins, options.available ?? {}),
      config: assembly.config,
      paths: { cwd, tauHome, claudeHome: options.claudeHome ?? join(tauHome, 'claude-home') },
      logLevel: options.logLevel ?? 'debug',
      logSink: (record) => logs.push(record),
      ...(options.setupTimeout !== undefined ? { setupTimeout: options.setupTimeout } : {}),
      ...(options.teardownTimeout !== undefined ? { teardownTimeout: options.teardownTimeout } : {}),
    },
    logs,
    cleanup,
  )
  if (options.start !== false) await kernel.start()
  return kernel
}

/** `plugins` plus, transitively, the `available` plugins their `dependsOn` names and they lack. */
function withDependencies(
  plugins: readonly TauPlugin[],
  available: Readonly<Record<string, TauPlugin>>,
): TauPlugin[] {
  const out = [...plugins]
  const names = new Set(out.map((plugin) => plugin.name))
  for (let i = 0; i < out.length; i++) {
    for (const name of out[i]!.dependsOn ?? []) {
      const dependency = available[name]
      if (names.has(name) || !dependency) continue
      names.add(name)
      out.push(dependency)
    }
  }
  return out
}

export type { LogRecord } from '../logger.js'
