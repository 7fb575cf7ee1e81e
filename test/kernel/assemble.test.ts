import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assemble, definePlugin, definePreset, type PresetCatalog } from '../../kernel/index.js'

const noop = (name: string, extra: object = {}) => definePlugin({ name, setup: () => undefined, ...extra })

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-assemble-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const base = definePreset({
  name: 'base',
  plugins: [noop('a'), noop('b')],
  config: { a: { x: 1, y: { z: 2 } } },
})
const catalog: PresetCatalog = {
  base: async () => base,
  child: async () =>
    definePreset({ name: 'child', extends: 'base', plugins: [noop('c')], config: { a: { y: { w: 3 } } } }),
  loop1: async () => definePreset({ name: 'loop1', extends: 'loop2' }),
  loop2: async () => definePreset({ name: 'loop2', extends: 'loop1' }),
}
const opts = () => ({ cwd: dir, tauHome: join(dir, 'home'), presets: catalog })

describe('assemble', () => {
  it('resolves a preset chain base first, merging config defaults under the user config', async () => {
    const result = await assemble({ ...opts(), config: { preset: 'child', a: { x: 9 } } })
    expect(result.presets).toEqual(['base', 'child'])
    expect(result.plugins.map((p) => p.name)).toEqual(['a', 'b', 'c'])
    expect(result.config).toEqual({ a: { x: 9, y: { z: 2, w: 3 } } })
  })

  it('a config plugin with a preset plugin name replaces it in place; new ones are appended', async () => {
    const replacement = noop('b', { description: 'mine' })
    const result = await assemble({
      ...opts(),
      config: { preset: 'base', plugins: [replacement, noop('d')] },
    })
    expect(result.plugins.map((p) => p.name)).toEqual(['a', 'b', 'd'])
    expect(result.plugins[1]).toBe(replacement)
  })

  it('flattens nested lists and skips falsy entries', async () => {
    const result = await assemble({
      ...opts(),
      config: { preset: 'base', plugins: [[noop('n1'), [noop('n2')]], false, null, undefined] },
    })
    expect(result.plugins.map((p) => p.name)).toEqual(['a', 'b', 'n1', 'n2'])
  })

  it('removes plugins named in disablePlugins, and rejects a name that is not loaded', async () => {
    const result = await assemble({ ...opts(), config: { preset: 'base', disablePlugins: ['a'] } })
    expect(result.plugins.map((p) => p.name)).toEqual(['b'])
    await expect(
      assemble({ ...opts(), config: { preset: 'base', disablePlugins: ['bb'] } }),
    ).rejects.toMatchObject({
      code: 'TAU_PLUGIN_DISABLE_UNKNOWN',
      summary: "disablePlugins: no plugin named 'bb' is loaded (did you mean 'b'?)",
    })
  })

  it('rejects two plugins of one name in the same list', async () => {
    await expect(
      assemble({ ...opts(), config: { preset: 'base', plugins: [noop('x'), noop('x')] } }),
    ).rejects.toMatchObject({
      code: 'TAU_PLUGIN_DUPLICATE',
      plugin: 'x',
      message: "two plugins are named 'x' in config",
    })
  })

  it('reports an unknown preset with a did-you-mean and the list', async () => {
    const error = await assemble({ ...opts(), config: { preset: 'chlid' } }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: 'TAU_PRESET_UNKNOWN',
      summary: "unknown preset 'chlid' (did you mean 'child'?)",
    })
    expect((error as { details: string[] }).details).toEqual(['available presets: base, child, loop1, loop2'])
  })

  it('the command line preset wins over the config', async () => {
    const result = await assemble({ ...opts(), config: { preset: 'child' }, preset: 'base' })
    expect(result.presets).toEqual(['base'])
  })

  it('accepts a preset object in config, and reports cycles in extends', async () => {
    const inline = definePreset({ name: 'inline', extends: 'base', plugins: [noop('i')] })
    const result = await assemble({ ...opts(), config: { preset: inline } })
    expect(result.plugins.map((p) => p.name)).toEqual(['a', 'b', 'i'])
    await expect(assemble({ ...opts(), config: { preset: 'loop1' } })).rejects.toMatchObject({
      code: 'TAU_PRESET_CYCLE',
      message: 'presets extend each other in a cycle: loop1 -> loop2 -> loop1',
    })
  })

  it('rejects entries that are not plugins, paths or package names', async () => {
    await expect(
      assemble({ ...opts(), config: { preset: 'base', plugins: [{ name: 'fake', setup() {} } as never] } }),
    ).rejects.toMatchObject({
      code: 'TAU_PLUGIN_INVALID',
      message: expect.stringContaining('is an object, not a plugin'),
    })
  })

  it('loads plugins from relative paths (TypeScript included), factories with options, and packages', async () => {
    const project = join(dir, 'project')
    await mkdir(join(project, 'plugins'), { recursive: true })
    await writeFile(
      join(project, 'plugins', 'local.ts'),
      "import { definePlugin } from 'tau-agent'\nconst name: string = 'local'\nexport default definePlugin({ name, setup: () => undefined })\n",
    )
    await writeFile(
      join(project, 'plugins', 'factory.mjs'),
      "import { definePlugin } from 'tau-agent'\n" +
        "export default (options) => definePlugin({ name: 'factory-' + options.suffix, setup: () => undefined })\n",
    )
    const pkg = join(project, 'node_modules', 'tau-plugin-hello')
    await mkdir(pkg, { recursive: true })
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'tau-plugin-hello', type: 'module', exports: './index.mjs' }),
    )
    await writeFile(
      join(pkg, 'index.mjs'),
      "const brand = Symbol.for('tau.plugin')\nexport default { name: 'hello', setup() {}, [brand]: true }\n",
    )
    const result = await assemble({
      ...opts(),
      configFile: join(project, 'tau.config.ts'),
      config: {
        preset: 'base',
        plugins: ['./plugins/local', ['./plugins/factory.mjs', { suffix: 'x' }], 'hello'],
      },
    })
    expect(result.plugins.map((p) => p.name)).toEqual(['a', 'b', 'local', 'factory-x', 'hello'])
  })

  it('a missing plugin module is TAU_PLUGIN_NOT_FOUND with where it looked', async () => {
    await expect(
      assemble({
        ...opts(),
        config: { preset: 'base', plugins: ['./nope'] },
        configFile: join(dir, 'tau.config.ts'),
      }),
    ).rejects.toMatchObject({
      code: 'TAU_PLUGIN_NOT_FOUND',
      message: expect.stringContaining(join(dir, 'nope')),
    })
    await expect(
      assemble({ ...opts(), config: { preset: 'base', plugins: ['not-installed-anywhere'] } }),
    ).rejects.toMatchObject({
      code: 'TAU_PLUGIN_NOT_FOUND',
      message: expect.stringContaining("cannot find plugin 'not-installed-anywhere'"),
    })
  })
})
