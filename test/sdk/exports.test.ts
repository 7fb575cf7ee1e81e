/**
 * The package's entries (sdk/): the root re-exports every plugin's public file, `tau-agent/plugins`
 * holds every built-in plugin, and `tau-agent/testing` builds test kernels from the built-in
 * presets and plugins.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  agentHooksRef,
  definePlugin,
  defineTool,
  environmentRef,
  SessionHub,
  startServer,
  toolRegistryRef,
} from '../../sdk/index.js'
import { builtinPlugins } from '../../sdk/plugins.js'
import { createTestKernel } from '../../sdk/testing.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const pluginDirs = readdirSync(`${repo}plugins`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

describe('package entries', () => {
  it('the root re-exports every plugin’s index.ts, and tau-agent/plugins has every plugin by name', () => {
    const root = readFileSync(`${repo}sdk/index.ts`, 'utf8')
    const missing = pluginDirs.filter((name) => !root.includes(`export * from '../plugins/${name}/index.js'`))
    expect(missing).toEqual([])
    // A plugin's second public file (public.ts: implementation values kept out of index.ts, so that
    // loading the plugin does not initialise its command code) is re-exported by the root too.
    const withPublic = pluginDirs.filter((name) => existsSync(`${repo}plugins/${name}/public.ts`))
    expect(withPublic).toContain('serve')
    expect(
      withPublic.filter((name) => !root.includes(`export * from '../plugins/${name}/public.js'`)),
    ).toEqual([])
    expect(Object.keys(builtinPlugins).sort()).toEqual([...pluginDirs].sort())
    for (const [name, plugin] of Object.entries(builtinPlugins)) expect(plugin.name).toBe(name)
    // Values of a public.ts reach the root entry (serve's, here).
    expect(typeof SessionHub).toBe('function')
    expect(typeof startServer).toBe('function')
  })

  it('createTestKernel adds the built-in plugins a plugin depends on, and loads a built-in preset by name', async () => {
    const shout = defineTool({
      name: 'Shout',
      description: 'upper-cases',
      input: z.object({ text: z.string() }),
      async execute({ text }) {
        return text.toUpperCase()
      },
    })
    const mine = definePlugin({
      name: 'mine',
      dependsOn: ['tools', 'agent'],
      setup(ctx) {
        ctx.hooksOf(agentHooksRef)
        return ctx.resolve(toolRegistryRef).register(shout, ctx.name)
      },
    })
    const kernel = await createTestKernel({ plugins: [mine] })
    const names = kernel.report().map((plugin) => plugin.name)
    // tools needs sandbox; agent needs what it declares: all come without being listed.
    expect(names).toEqual(expect.arrayContaining(['mine', 'tools', 'sandbox', 'agent']))
    expect(names).not.toContain('terminal')
    expect(kernel.resolve(toolRegistryRef).get('Shout')).toBeDefined()
    const session = kernel.createSession()
    expect(session.resolve(environmentRef).cwd).toBe(kernel.paths.cwd)
    await session.dispose()
    await kernel.stop()

    const coding = await createTestKernel({ preset: 'coding', plugins: [mine] })
    expect(coding.report().map((plugin) => plugin.name)).toEqual(expect.arrayContaining(['terminal', 'mine']))
    await coding.stop()
  })

  it('a dependency that is no built-in plugin is still the kernel’s missing-dependency error', async () => {
    const lonely = definePlugin({ name: 'lonely', dependsOn: ['nowhere'], setup() {} })
    await expect(createTestKernel({ plugins: [lonely] })).rejects.toMatchObject({
      code: 'TAU_DEPENDENCY_MISSING',
    })
  })
})
