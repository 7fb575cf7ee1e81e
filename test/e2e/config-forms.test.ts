/**
 * Where the real `tau` binary finds its config, in every form cosmiconfig knows for it, and the
 * ways a config names plugins: a path, a [path, options] tuple to a factory, a package.
 */
import { describe, expect, it } from 'vitest'
import { type Project, type TauResult, useProjects } from './run-tau.js'

const project = useProjects()

interface ConfigOutput {
  file: string
  plugins: string
  config: Record<string, unknown>
}

/** Parses `tau config`: three `# key: value` lines, then the config as JSON. */
function parseConfigOutput(result: TauResult): ConfigOutput {
  expect(result.code, result.stderr).toBe(0)
  const header = (key: string) => {
    const match = result.stdout.match(new RegExp(`^# ${key}: (.*)$`, 'm'))
    expect(match, `stdout has '# ${key}:'\n${result.stdout}`).not.toBeNull()
    return match![1]!
  }
  const json = result.stdout.slice(result.stdout.indexOf('{'))
  return { file: header('file'), plugins: header('plugins'), config: JSON.parse(json) }
}

const localPlugin = (name: string) => `import { definePlugin } from 'tau-agent'
export default definePlugin({ name: ${JSON.stringify(name)}, setup() {} })
`

describe.concurrent('config forms', () => {
  it.each([
    {
      file: 'tau.config.ts',
      text: "import { defineConfig } from 'tau-agent'\nexport default defineConfig({ preset: 'minimal', model: 'ollama:from-ts' })\n",
      model: 'ollama:from-ts',
    },
    {
      file: 'tau.config.mts',
      text: "import { defineConfig } from 'tau-agent'\nexport default defineConfig({ preset: 'minimal', model: 'ollama:from-mts' as string })\n",
      model: 'ollama:from-mts',
    },
    {
      // Plain JavaScript importing 'tau' (the name before tau-agent, kept as an alias), in a
      // project that has no tau installed.
      file: 'tau.config.mjs',
      text: "import { defineConfig } from 'tau'\nexport default defineConfig({ preset: 'minimal', model: 'ollama:from-mjs' })\n",
      model: 'ollama:from-mjs',
    },
    {
      file: 'tau.config.json',
      text: '{ "model": "ollama:from-json" }\n',
      model: 'ollama:from-json',
    },
    {
      file: '.taurc',
      text: '# YAML\nmodel: "ollama:from-taurc"\nlogLevel: warn\n',
      model: 'ollama:from-taurc',
    },
    {
      file: '.taurc.json',
      text: '{ "model": "ollama:from-taurc-json" }\n',
      model: 'ollama:from-taurc-json',
    },
    {
      file: 'package.json',
      text: `${JSON.stringify({ name: 'my-agent', private: true, tau: { model: 'ollama:from-package-json' } })}\n`,
      model: 'ollama:from-package-json',
    },
  ])('$file is found and loaded', async ({ file, text, model }) => {
    const p = await project({ [file]: text })
    const output = parseConfigOutput(await p.run(['config']))
    expect(output.file).toBe(p.path(file))
    expect(output.config.model).toBe(model)
  })

  it('is found upward from a nested directory; plugin paths resolve from the config, not the cwd', async () => {
    const p = await project({
      'plugins/local.ts': localPlugin('local'),
      'tau.config.ts':
        "export default { preset: 'minimal', model: 'ollama:from-root', plugins: ['./plugins/local.ts'] }\n",
      'packages/app/src/index.ts': 'export {}\n',
    })
    const output = parseConfigOutput(await p.run(['config'], { cwd: p.path('packages/app/src') }))
    expect(output.file).toBe(p.path('tau.config.ts'))
    expect(output.config.model).toBe('ollama:from-root')
    expect(output.plugins).toBe('local')
  })

  it('--config loads that file instead of searching', async () => {
    const p = await project({
      'tau.config.ts': "export default { preset: 'minimal', model: 'ollama:from-search' }\n",
      'configs/alt-plugin.ts': localPlugin('alt'),
      'configs/alt.config.ts':
        "export default { preset: 'minimal', model: 'ollama:from-flag', plugins: ['./alt-plugin.ts'] }\n",
    })
    const [searched, given] = await Promise.all([
      p.run(['config']),
      p.run(['config', '--config', 'configs/alt.config.ts']),
    ])
    expect(parseConfigOutput(searched)).toMatchObject({
      file: p.path('tau.config.ts'),
      config: { model: 'ollama:from-search' },
    })
    expect(parseConfigOutput(given)).toMatchObject({
      file: p.path('configs/alt.config.ts'),
      plugins: 'alt',
      config: { model: 'ollama:from-flag' },
    })
  })
})

/** `tau plugins --json`, parsed. */
async function pluginsOf(p: Project, args: readonly string[] = []) {
  const result = await p.run(['plugins', '--json', ...args])
  expect(result.code, result.stderr).toBe(0)
  return (
    JSON.parse(result.stdout) as {
      plugins: Array<{ name: string; description?: string; services: string[] }>
    }
  ).plugins
}

describe.concurrent('plugin entries', () => {
  it('a relative path: with extension, without, and a folder with an index', async () => {
    const p = await project({
      'plugins/one.ts': localPlugin('one'),
      'plugins/two.ts': localPlugin('two'),
      'plugins/three/index.ts': localPlugin('three'),
      'tau.config.ts':
        "export default { preset: 'minimal', plugins: ['./plugins/one.ts', './plugins/two', './plugins/three'] }\n",
    })
    expect((await pluginsOf(p)).map((plugin) => plugin.name)).toEqual(['one', 'two', 'three'])
  })

  it('a .mjs config and a .mjs plugin importing no tau (but zod and a local module) load natively: jiti is never loaded', async () => {
    const p = await project({
      'plugins/helper.mjs': "import { z } from 'zod'\nexport const name = z.string().parse('native')\n",
      // jiti's body is CommonJS: loaded, it is in the (one, process-wide) require cache.
      'plugins/native.mjs': `import { createRequire } from 'node:module'
import { name } from './helper.mjs'
const jiti = Object.keys(createRequire(import.meta.url).cache).some((file) => /[\\\\/]jiti[\\\\/]/.test(file))
export default { [Symbol.for('tau.plugin')]: true, name, description: 'jiti loaded: ' + jiti, setup() {} }
`,
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./plugins/native.mjs'] }\n",
    })
    expect(await pluginsOf(p)).toMatchObject([{ name: 'native', description: 'jiti loaded: false' }])
  })

  it("a .mjs plugin importing 'tau-agent' and 'tau-agent/kernel' loads natively too, with one running tau for both; a package it imports resolves 'tau' as Node does", async () => {
    const p = await project({
      'plugins/both.mjs': `import { createRequire } from 'node:module'
import { definePlugin, TauError } from 'tau-agent'
import { TauError as KernelTauError, definePlugin as kernelDefinePlugin } from 'tau-agent/kernel'
import { who } from 'other-lib'
const same = TauError === KernelTauError && definePlugin === kernelDefinePlugin && new KernelTauError('X', 'x') instanceof TauError
const jiti = Object.keys(createRequire(import.meta.url).cache).some((file) => /[\\\\/]jiti[\\\\/]/.test(file))
export default definePlugin({ name: 'both', description: 'same: ' + same + ', jiti loaded: ' + jiti + ', other-lib has ' + who, setup() {} })
`,
      // Only the plugin's own files get the running tau (as jiti maps only in what it loads): a
      // package naming 'tau' (here the unrelated npm package of that name) gets that package.
      'node_modules/other-lib/package.json':
        '{ "name": "other-lib", "type": "module", "exports": "./index.mjs" }',
      'node_modules/other-lib/index.mjs':
        "import * as tau from 'tau'\nexport const who = tau.who ?? 'the running tau'\n",
      'node_modules/tau/package.json': '{ "name": "tau", "type": "module", "exports": "./index.mjs" }',
      'node_modules/tau/index.mjs': "export const who = 'the npm package tau'\n",
      'tau.config.json': '{ "preset": "minimal", "plugins": ["./plugins/both.mjs"] }\n',
    })
    expect(await pluginsOf(p)).toMatchObject([
      { name: 'both', description: 'same: true, jiti loaded: false, other-lib has the npm package tau' },
    ])
  })

  it('a [path, options] tuple calls the factory the module exports with the options', async () => {
    const p = await project({
      'plugins/greeter.ts': `import { definePlugin } from 'tau-agent'
export default (options: { greeting: string }) =>
  definePlugin({ name: 'greeter', description: 'says ' + options.greeting, setup() {} })
`,
      'tau.config.ts':
        "export default { preset: 'minimal', plugins: [['./plugins/greeter.ts', { greeting: 'hej' }]] }\n",
    })
    expect(await pluginsOf(p)).toMatchObject([{ name: 'greeter', description: 'says hej' }])
  })

  it("an installed package, named 'hello' or 'tau-plugin-hello'", async () => {
    const p = await project({
      'node_modules/tau-plugin-hello/package.json': `${JSON.stringify({
        name: 'tau-plugin-hello',
        version: '1.0.0',
        type: 'module',
        exports: './index.js',
      })}\n`,
      // Plain JavaScript importing 'tau-agent'; the project has no tau of its own installed.
      'node_modules/tau-plugin-hello/index.js': `import { definePlugin, defineService } from 'tau-agent'
export const greetingRef = defineService('hello.greeting')
export default definePlugin({
  name: 'hello',
  description: 'from node_modules',
  setup(ctx) {
    ctx.provide(greetingRef, 'hello')
  },
})
`,
      'short.config.ts': "export default { preset: 'minimal', plugins: ['hello'] }\n",
      'long.config.ts': "export default { preset: 'minimal', plugins: ['tau-plugin-hello'] }\n",
    })
    const [short, long] = await Promise.all([
      pluginsOf(p, ['--config', 'short.config.ts']),
      pluginsOf(p, ['--config', 'long.config.ts']),
    ])
    const expected = [{ name: 'hello', description: 'from node_modules', services: ['hello.greeting'] }]
    expect(short).toMatchObject(expected)
    expect(long).toMatchObject(expected)
  })
})
