/**
 * Test kit for plugin authors: `import { createTestKernel } from 'tau/testing'`.
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
import { definePreset, type PluginEntry, type Preset } from '../plugin.js'

export interface TestKernelOptions {
  /** Plugins under test, plus whatever they depend on. */
  plugins?: readonly PluginEntry[]
  /** A preset object to start from (its plugins come before `plugins`). */
  preset?: Preset
  /** Presets that `preset.extends` may name (default: none). */
  presets?: PresetCatalog
  /** Config slices and kernel keys, as in tau.config.ts. */
  config?: TauConfig
  /** Working directory (default: a fresh temporary directory). */
  cwd?: string
  /** TAU_HOME (default: a fresh temporary directory). */
  tauHome?: string
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
      plugins: assembly.plugins,
      config: assembly.config,
      paths: { cwd, tauHome },
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

export type { LogRecord } from '../logger.js'
