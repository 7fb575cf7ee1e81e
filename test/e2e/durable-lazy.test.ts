/**
 * The durable engine is not loaded by a tau that runs no durable command: the real binary runs
 * with a module hook (node's `module.register`) that writes down every module it loads, and a
 * `tau start -p` run of the coding preset loads no module of the engine (DBOS, pg, the runners),
 * while `tau runs list` does (the control: the hook sees the engine when it loads). `tau worker`
 * without a database says which config key to set, before loading anything of the engine.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { type Project, useProjects } from './run-tau.js'

const project = useProjects()

/**
 * A module hook for the binary: writes down the URL of every module loaded, and makes the
 * packages in `missing` fail to resolve as a package that is not installed does.
 */
async function withModuleLog(
  p: Project,
  missing: readonly string[] = [],
): Promise<{ env: Record<string, string>; loaded: () => string[] }> {
  const log = p.path('modules.log')
  const hooks = p.path('hooks.mjs')
  const register = p.path('register.mjs')
  writeFileSync(log, '')
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs'
const missing = ${JSON.stringify(missing)}
export async function resolve(specifier, context, next) {
  if (missing.includes(specifier)) {
    const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL)
    error.code = 'ERR_MODULE_NOT_FOUND'
    throw error
  }
  return next(specifier, context)
}
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(log)}, url + '\\n')
  return next(url, context)
}
`,
  )
  writeFileSync(
    register,
    `import { register } from 'node:module'
register(${JSON.stringify(pathToFileURL(hooks).href)})
`,
  )
  return {
    env: { NODE_OPTIONS: `--import=${pathToFileURL(register).href}` },
    loaded: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  }
}

/** Loaded modules of the durable engine: DBOS, pg, or tau's chunks with the engine's code. */
// The engine is DBOS and pg (kept out of the bundle) and tau's own engine code. The command is one
// bundled file (scripts/bundle-bin.mjs: splitting measured slower), so tau's engine code sits in
// cli.js, initialised only when a durable command imports it; as a separate file (a chunk, or
// the tsc output) it counts when it is loaded.
const engineModules = (urls: readonly string[]) =>
  urls.filter((url) => {
    if (/node_modules\/(@dbos-inc|pg)\//.test(url)) return true
    if (!url.startsWith('file:') || !url.endsWith('.js') || url.endsWith('/dist/bin/cli.js')) return false
    const text = readFileSync(fileURLToPath(url), 'utf8')
    return ['migrateDbos', 'DbosStepRunner', 'runDurably'].some((name) => text.includes(name))
  })

describe('the durable engine is loaded only when used', () => {
  it('tau start -p loads none of it; tau runs list does', async () => {
    const p = await project()
    const model = await startScriptedServer({ format: 'openai', script: [{ text: 'hello' }] })
    try {
      await p.write({ 'tau.config.json': JSON.stringify({ model: 'openai:scripted-model' }) })
      const hook = await withModuleLog(p)
      const env = { ...hook.env, OPENAI_BASE_URL: `${model.url}/v1`, OPENAI_API_KEY: 'test-key' }
      const started = await p.run(['start', '-p', 'hi'], { env, timeoutMs: 60_000 })
      expect(started.code, started.stderr).toBe(0)
      expect(started.stdout).toContain('hello')
      const urls = hook.loaded()
      // The hook saw tau's own bundle (so an empty result below means something).
      expect(urls.some((url) => url.includes('/dist/bin/'))).toBe(true)
      expect(engineModules(urls)).toEqual([])

      writeFileSync(p.path('modules.log'), '')
      const listed = await p.run(['runs', 'list'], {
        env: { ...env, TAU_DATABASE_URL: 'postgres://tau@127.0.0.1:1/none' },
        timeoutMs: 60_000,
      })
      expect(listed.code).not.toBe(0)
      expect(listed.stderr).toContain('TAU_DURABLE_DATABASE_UNREACHABLE')
      expect(engineModules(hook.loaded()).length).toBeGreaterThan(0)
    } finally {
      await model.close()
    }
  })

  it('tau worker without a database names the config key, without a stack trace', async () => {
    const p = await project()
    const hook = await withModuleLog(p)
    const result = await p.run(['worker'], { env: hook.env, timeoutMs: 60_000 })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_DURABLE_NOT_CONFIGURED')
    expect(result.stderr).toContain('durable.database')
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(engineModules(hook.loaded())).toEqual([])
  })

  it('tau runs logs on a database it cannot reach reads as the durable commands do', async () => {
    const p = await project()
    const env = { TAU_DATABASE_URL: 'postgres://tau:secret@127.0.0.1:1/none' }
    const result = await p.run(['runs', 'logs', 'run-x'], { env, timeoutMs: 60_000 })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('TAU_DURABLE_DATABASE_UNREACHABLE')
    expect(result.stderr).not.toContain('TAU_POSTGRES_UNAVAILABLE')
    expect(result.stderr).not.toContain('secret')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })

  it('a missing DBOS SDK or pg driver is TAU_DURABLE_ENGINE_MISSING, saying what to install', async () => {
    const p = await project()
    const url = { TAU_DATABASE_URL: 'postgres://tau@127.0.0.1:1/none' }
    const noDbos = await withModuleLog(p, ['@dbos-inc/dbos-sdk'])
    const listed = await p.run(['runs', 'list'], { env: { ...noDbos.env, ...url }, timeoutMs: 60_000 })
    expect(listed.code).not.toBe(0)
    expect(listed.stderr).toContain('TAU_DURABLE_ENGINE_MISSING')
    expect(listed.stderr).toContain('npm i -E @dbos-inc/dbos-sdk')
    expect(listed.stderr).not.toMatch(/^\s+at /m)

    const noPg = await withModuleLog(p, ['pg'])
    const logs = await p.run(['runs', 'logs', 'run-x'], { env: { ...noPg.env, ...url }, timeoutMs: 60_000 })
    expect(logs.code).not.toBe(0)
    expect(logs.stderr).toContain('TAU_DURABLE_ENGINE_MISSING')
    expect(logs.stderr).toContain('pg')
    expect(logs.stderr).not.toMatch(/^\s+at /m)
  })
})
