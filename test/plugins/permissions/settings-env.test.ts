/**
 * The settings files' `env` goes into the kernel's env (KernelOptions.env, PluginContext.env), not
 * process.env: a kernel given its own env has the variables in it and process.env stays as it was;
 * a key among the variables is masked in log lines like the env's own; an env the settings cannot
 * be written into is a clear error naming the variable, not a silent skip. (Two agents and every reader: test/sdk/agent-env.test.ts.)
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { definePlugin, Kernel, type LogRecord } from '../../../kernel/index.js'
import permissions from '../../../plugins/permissions/index.js'
import { tempDir } from '../agent/helpers.js'

/** A key in the settings file: never in a log line. */
const SECRET = 'settings-secret-0123456789'
const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})

/** A kernel with the permissions plugin and a probe that records what ctx.env holds at setup. */
async function kernelWith(options: { readonly frozen?: boolean } = {}) {
  const d = await tempDir('tau-settings-env-')
  dirs.push(d)
  const claudeHome = join(d.dir, 'claude-home')
  await mkdir(claudeHome)
  // The user's file: applied whether or not the workspace is trusted.
  await writeFile(
    join(claudeHome, 'settings.json'),
    JSON.stringify({ env: { TAU_SETTINGS_PROBE: 'from-settings', TAU_PROBE_API_KEY: SECRET } }),
  )
  const seen: Array<string | undefined> = []
  const logs: LogRecord[] = []
  const probe = definePlugin({
    name: 'probe',
    optionalDependsOn: ['permissions'],
    setup(ctx) {
      seen.push(ctx.env.TAU_SETTINGS_PROBE)
      ctx.logger.warn(`the key is ${ctx.env.TAU_PROBE_API_KEY}`)
    },
  })
  const kernel = new Kernel({
    plugins: [permissions, probe],
    paths: { cwd: d.dir, tauHome: join(d.dir, 'tau-home'), claudeHome },
    env: (options.frozen ? Object.freeze : <T>(value: T) => value)({
      TAU_MANAGED_SETTINGS_DIR: join(d.dir, 'managed'),
    }),
    logLevel: 'debug',
    logSink: (record) => logs.push(record),
  })
  return { kernel, seen, logs }
}

describe("the settings files' env", () => {
  it("is written into the kernel's own env, which plugins read; process.env is left alone; its keys are masked in logs", async () => {
    const { kernel, seen, logs } = await kernelWith()
    await kernel.start()
    try {
      expect(seen).toEqual(['from-settings'])
      expect(kernel.env.TAU_SETTINGS_PROBE).toBe('from-settings')
      expect(process.env.TAU_SETTINGS_PROBE).toBeUndefined()
      expect(logs.map((record) => record.message)).toContain('the key is ***')
      expect(JSON.stringify(logs)).not.toContain(SECRET)
    } finally {
      await kernel.stop()
    }
  })

  it('a read-only kernel env is an error naming the variable, before any plugin is set up', async () => {
    const { kernel, seen } = await kernelWith({ frozen: true })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_SETTINGS_ENV_READ_ONLY',
      plugin: 'permissions',
      message: expect.stringContaining('TAU_SETTINGS_PROBE'),
    })
    expect(seen).toEqual([])
  })
})
