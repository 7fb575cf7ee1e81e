/**
 * KernelOptions.env: the environment plugins read (ctx.env, the configure api's env), the default
 * paths (TAU_HOME, CLAUDE_CONFIG_DIR, TAU_MANAGED_SETTINGS_DIR) and the secrets the logs mask come
 * from the env a kernel is given, not process.env; without one, process.env as before.
 */
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { definePlugin, Kernel, type LogRecord } from '../../kernel/index.js'

function probe(seen: { setup?: NodeJS.ProcessEnv; configure?: NodeJS.ProcessEnv }) {
  return definePlugin({
    name: 'probe',
    configure(_config, api) {
      seen.configure = api.env
      return undefined
    },
    setup(ctx) {
      seen.setup = ctx.env
      ctx.logger.warn(`the key is ${ctx.env.PROBE_API_KEY}`)
    },
  })
}

describe('the kernel env', () => {
  it("is the given env in setup and configure, its paths and masked secrets too, not process.env's", async () => {
    vi.stubEnv('TAU_HOME', '/process/tau-home')
    vi.stubEnv('CLAUDE_CONFIG_DIR', '/process/claude-home')
    vi.stubEnv('TAU_MANAGED_SETTINGS_DIR', '/process/managed')
    const env = {
      TAU_HOME: '/given/tau-home',
      CLAUDE_CONFIG_DIR: '/given/claude-home',
      TAU_MANAGED_SETTINGS_DIR: '/given/managed',
      PROBE_API_KEY: 'sk-given-0123456789',
    }
    const seen: { setup?: NodeJS.ProcessEnv; configure?: NodeJS.ProcessEnv } = {}
    const records: LogRecord[] = []
    const kernel = new Kernel({
      plugins: [probe(seen)],
      paths: { cwd: '/project' },
      env,
      logSink: (record) => records.push(record),
    })
    expect(kernel.env).toBe(env)
    expect(kernel.paths.tauHome).toBe('/given/tau-home')
    expect(kernel.paths.claudeHome).toBe('/given/claude-home')
    expect(kernel.paths.managedSettings.map((d) => d.dir)).toEqual([
      join('/given/managed', 'tau'),
      join('/given/managed', 'claude-code'),
    ])
    await kernel.start()
    try {
      expect(seen.setup).toBe(env)
      expect(seen.configure).toBe(env)
      const line = records.find((r) => r.name === 'probe')?.message
      expect(line).toBe('the key is ***')
    } finally {
      await kernel.stop()
    }
  })

  it('is process.env when none is given', async () => {
    vi.stubEnv('TAU_HOME', '/process/tau-home')
    const seen: { setup?: NodeJS.ProcessEnv; configure?: NodeJS.ProcessEnv } = {}
    const kernel = new Kernel({ plugins: [probe(seen)], paths: { cwd: '/project' }, logSink: () => {} })
    expect(kernel.paths.tauHome).toBe('/process/tau-home')
    await kernel.start()
    try {
      expect(seen.setup).toBe(process.env)
      expect(seen.configure).toBe(process.env)
    } finally {
      await kernel.stop()
    }
  })
})
