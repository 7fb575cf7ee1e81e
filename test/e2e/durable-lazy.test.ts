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

/** Files the hook writes: the loaded module URLs, one a line. */
async function withModuleLog(p: Project): Promise<{ env: Record<string, string>; loaded: () => string[] }> {
  const log = p.path('modules.log')
  const hooks = p.path('hooks.mjs')
  const register = p.path('register.mjs')
  writeFileSync(log, '')
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs'
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
const engineModules = (urls: readonly string[]) =>
  urls.filter((url) => {
    if (/node_modules\/(@dbos-inc|pg)\//.test(url)) return true
    if (!url.startsWith('file:') || !url.endsWith('.js')) return false
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
})
