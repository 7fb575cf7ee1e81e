/**
 * The real `tau` binary on its happy paths: start, plugins, config, help and version, exit
 * codes from a frontend, signals, and tau run from source.
 */
import { readFileSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  markerPlugin,
  REPO_ROOT,
  runTau,
  STACK_LINE,
  type TauResult,
  useProjects,
  waitForFile,
} from './run-tau.js'

const project = useProjects()
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version

describe.concurrent('tau start', () => {
  it('boots a TS config that imports a local TS plugin (which imports another .ts file), cold and warm', async () => {
    const p = await project({
      // NodeNext style: './greeting.js' is the TypeScript file greeting.ts.
      'plugins/greeting.ts': "export const greeting = (who: string): string => 'hello, ' + who\n",
      'plugins/greeter.ts': `import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { definePlugin } from 'tau-agent'
import { z } from 'zod'
import { greeting } from './greeting.js'

export const greeter = definePlugin({
  name: 'greeter',
  config: z.object({ who: z.string().default('world') }),
  setup(ctx) {
    ctx.logger.warn(greeting(ctx.config.who))
    return () => writeFileSync(join(ctx.paths.projectDir, 'greeter.torndown'), 'done')
  },
})
`,
      'tau.config.ts': `import { defineConfig } from 'tau-agent'
import { greeter } from './plugins/greeter.ts'

export default defineConfig({ preset: 'minimal', plugins: [greeter], greeter: { who: 'ada' } })
`,
    })
    const start = async () => {
      await rm(p.path('greeter.torndown'), { force: true })
      return p.run(['start'])
    }
    const expectBooted = (result: TauResult, greeting: string) => {
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toContain(`[greeter] warn: ${greeting}`)
      expect(result.stderr).toContain("preset 'minimal' is ready with 1 plugin;")
      expect(result.stdout).toBe('')
      expect(p.exists('greeter.torndown')).toBe(true)
    }

    expect(await p.cacheFiles()).toEqual([])
    expectBooted(await start(), 'hello, ada')
    // The transpiled config and both plugin files are cached under TAU_HOME, nowhere else.
    const cached = await p.cacheFiles()
    expect(cached.length).toBeGreaterThanOrEqual(3)
    expect(cached.some((f) => f.includes('greeting'))).toBe(true)

    expectBooted(await start(), 'hello, ada')
    expect(await p.cacheFiles(), 'a warm run reuses the cache').toEqual(cached)

    // A changed file is not served stale from the cache.
    await p.write({
      'plugins/greeting.ts': "export const greeting = (who: string): string => 'hej, ' + who\n",
    })
    expectBooted(await start(), 'hej, ada')
    // TAU_HOME replaces ~/.tau: nothing was written under HOME.
    expect(await readdir(p.home)).toEqual([])
  })

  it("exits with the frontend's exit code, hands it the arguments, and tears down", async () => {
    const p = await project({
      'frontend.ts': markerPlugin('frontend', {
        body: `ctx.provide(frontendRef, {
      async run({ argv, stdout }) {
        stdout.write('argv=' + JSON.stringify(argv) + '\\n')
        return 3
      },
    })`,
      }),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./frontend.ts'] }\n",
    })
    const result = await p.run(['start', 'alpha', '--beta', 'gamma'])
    expect(result.code, result.stderr).toBe(3)
    expect(result.stdout).toBe('argv=["alpha","--beta","gamma"]\n')
    expect(p.exists('frontend.torndown')).toBe(true)
  })
})

/** A frontend that runs until the CLI aborts it (SIGINT/SIGTERM), then returns 0. */
const waitingFrontend = (holdsHandle: boolean) =>
  markerPlugin('frontend', {
    body: `ctx.hooks.ready.tap(() => marker('ready'))
    ctx.provide(frontendRef, {
      run: ({ signal }) =>
        new Promise((resolve) => {
          ${holdsHandle ? 'const timer = setInterval(() => {}, 60_000)' : ''}
          signal.addEventListener('abort', () => {
            ${holdsHandle ? 'clearInterval(timer)' : ''}
            resolve(0)
          })
        }),
    })`,
  })

describe.concurrent('tau start and signals', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s while a frontend runs: exit %i, the kernel is stopped', async (signal, code) => {
    const p = await project({
      'frontend.ts': waitingFrontend(true),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./frontend.ts'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill(signal)
    const result = await proc.result
    expect(result.timedOut).toBe(false)
    expect(result.code, proc.output()).toBe(code)
    expect(p.exists('frontend.torndown'), 'teardown ran').toBe(true)
    expect(result.stderr).not.toMatch(STACK_LINE)
  })

  it('a teardown failing after SIGTERM is reported once, with secrets masked', async () => {
    const secret = 'sk-env-teardown-0123456789'
    const p = await project({
      'frontend.ts': waitingFrontend(true),
      'leaky.ts': markerPlugin('leaky', {
        teardown: "throw new Error('cannot close session ' + process.env.OPENAI_API_KEY)",
      }),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./leaky.ts', './frontend.ts'] }\n",
    })
    const proc = p.spawn(['start'], { env: { OPENAI_API_KEY: secret } })
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(result.code, proc.output()).not.toBe(0)
    expect(p.exists('frontend.torndown'), 'the other teardown ran').toBe(true)
    expect(result.stderr).toContain("plugin 'leaky': teardown failed: cannot close session ***")
    expect(result.stderr, 'the secret is masked').not.toContain(secret)
    expect(result.stderr.split('error TAU_TEARDOWN_FAILED').length - 1, 'reported once').toBe(1)
  })

  it('SIGTERM while a frontend waits only on its abort signal: exit 143, the kernel is stopped', async () => {
    // The frontend holds no timer or socket of its own; `tau start` must still wait for it.
    const p = await project({
      'frontend.ts': waitingFrontend(false),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./frontend.ts'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(result.code, proc.output()).toBe(143)
    expect(p.exists('frontend.torndown'), 'teardown ran').toBe(true)
  })

  it('SIGTERM while a start tap waits on its signal: exit 143, teardown ran, no error reported', async () => {
    // A well-behaved slow start: it listens to the lifecycle signal, which stopping aborts.
    const p = await project({
      'slow.ts': markerPlugin('slow', {
        body: `let timer: NodeJS.Timeout | undefined
    ctx.hooks.start.tapPromise(async ({ signal }) => {
      timer = setInterval(() => {}, 60_000)
      marker('ready')
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    })`,
        teardown: 'clearInterval(timer)',
      }),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./slow.ts'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(p.exists('slow.torndown'), 'teardown ran').toBe(true)
    expect(result.code, proc.output()).toBe(143)
    expect(result.stderr).not.toContain('TAU_START_FAILED')
  })

  it('SIGTERM while a start tap hangs for good: exit 143, teardown ran', async () => {
    // A start tap that ignores the signal and never settles; its teardown releases its handle.
    const p = await project({
      'hang.ts': markerPlugin('hang', {
        body: `let timer: NodeJS.Timeout | undefined
    ctx.hooks.start.tapPromise(async () => {
      timer = setInterval(() => {}, 60_000)
      marker('ready')
      await new Promise(() => {})
    })`,
        teardown: 'clearInterval(timer)',
      }),
      'tau.config.ts': "export default { preset: 'minimal', plugins: ['./hang.ts'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(p.exists('hang.torndown'), 'teardown ran').toBe(true)
    expect(result.timedOut, 'tau exits after the signal').toBe(false)
    expect(result.code, proc.output()).toBe(143)
  })
})

describe.concurrent('tau plugins', () => {
  const files = {
    'a.ts': `import { definePlugin, defineService } from 'tau-agent'
export const clockRef = defineService<() => number>('a.clock')
export default definePlugin({ name: 'a', setup: (ctx) => ctx.provide(clockRef, () => Date.now()) })
`,
    'b.ts': `import { defineHooks, definePlugin, defineService } from 'tau-agent'
import { AsyncSeriesHook } from 'tapable'
export const bHooks = defineHooks<{ saved: AsyncSeriesHook<[{ id: string }]> }>('b')
export const storeRef = defineService<Map<string, string>>('b.store')
export default definePlugin({
  name: 'b',
  version: '1.2.3',
  description: 'keeps things',
  dependsOn: ['a'],
  setup(ctx) {
    ctx.provide(storeRef, new Map())
    ctx.declareHooks(bHooks, { saved: new AsyncSeriesHook(['context']) })
  },
})
`,
    'c.ts': `import { definePlugin } from 'tau-agent'
import { bHooks } from './b.ts'
export default definePlugin({
  name: 'c',
  dependsOn: ['b'],
  setup(ctx) {
    ctx.hooksOf(bHooks).saved.tap(() => {})
  },
})
`,
    // Registered in reverse: setup order must follow the dependencies, not this list.
    'tau.config.ts': "export default { preset: 'minimal', plugins: ['./c.ts', './b.ts', './a.ts'] }\n",
  }

  it('lists plugins in dependency order with their services and hooks', async () => {
    const p = await project(files, ['zod', 'tapable'])
    const result = await p.run(['plugins'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`config: ${p.path('tau.config.ts')}`)
    const at = (text: string) => {
      const index = result.stdout.indexOf(text)
      expect(index, `stdout contains ${JSON.stringify(text)}`).toBeGreaterThanOrEqual(0)
      return index
    }
    const [a, b, c] = [at('  1. a\n'), at('  2. b@1.2.3 - keeps things\n'), at('  3. c\n')]
    expect(a).toBeLessThan(b)
    expect(b).toBeLessThan(c)
    const section = (from: number, to: number) => result.stdout.slice(from, to)
    expect(section(a, b)).toContain('provides: a.clock')
    expect(section(b, c)).toContain('depends on: a')
    expect(section(b, c)).toContain('provides: b.store')
    expect(section(b, c)).toContain('declares hooks: b.saved (AsyncSeriesHook)')
    expect(section(c, result.stdout.length)).toContain('taps: b.saved')
  })

  it('--json prints the same as JSON', async () => {
    const p = await project(files, ['zod', 'tapable'])
    const result = await p.run(['plugins', '--json'])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as {
      file: string
      presets: string[]
      plugins: Array<{ name: string; services: string[]; hooks: Array<{ name: string; kind: string }> }>
    }
    expect(report.file).toBe(p.path('tau.config.ts'))
    expect(report.presets).toEqual(['minimal'])
    expect(report.plugins.map((plugin) => plugin.name)).toEqual(['a', 'b', 'c'])
    expect(report.plugins).toMatchObject([
      { name: 'a', services: ['a.clock'], hooks: [] },
      {
        name: 'b',
        version: '1.2.3',
        dependsOn: ['a'],
        services: ['b.store'],
        hooks: [{ name: 'b.saved', kind: 'AsyncSeriesHook', owner: 'b', taps: ['c'] }],
      },
      { name: 'c', services: [], hooks: [], taps: ['b.saved'] },
    ])
  })
})

const OPENAI_KEY = 'sk-env-0123456789abcdef'
const LITERAL_KEY = 'sk-secret-123456'

const openaiPlugin = `import { definePlugin } from 'tau-agent'
import { z } from 'zod'

export default definePlugin({
  name: 'openai',
  configKey: 'providers.openai',
  config: z.object({
    apiKey: z.string(),
    baseUrl: z.string().default('https://api.openai.com/v1'),
    timeout: z.number().default(30000),
    note: z.string().optional(),
  }),
  setup(ctx) {
    ctx.logger.warn('using the key ' + process.env.OPENAI_API_KEY)
  },
})
`

describe.concurrent('tau config', () => {
  it('prints the resolved config with schema defaults applied and secrets masked', async () => {
    const p = await project({
      'openai.ts': openaiPlugin,
      'tau.config.ts': `export default {
  preset: 'minimal',
  model: 'openai:gpt-4o',
  plugins: ['./openai.ts'],
  providers: { openai: { apiKey: '${LITERAL_KEY}' } },
}
`,
    })
    const [text, json] = await Promise.all([p.run(['config']), p.run(['config', '--json'])])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain(`# file: ${p.path('tau.config.ts')}`)
    expect(text.stdout).toContain('# preset: minimal')
    expect(text.stdout).toContain('# plugins: openai')
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      model: 'openai:gpt-4o',
      providers: {
        openai: { apiKey: '***', baseUrl: 'https://api.openai.com/v1', timeout: 30000 },
      },
    })
    for (const result of [text, json]) {
      expect(result.stdout).not.toContain(LITERAL_KEY)
      expect(result.stderr).not.toContain(LITERAL_KEY)
    }
  })

  it('never prints the value of a secret environment variable, in any command or error', async () => {
    const env = { OPENAI_API_KEY: OPENAI_KEY }
    const p = await project({
      'openai.ts': openaiPlugin,
      // `note` is no secret-looking key, so only the environment value masking can hide it.
      'tau.config.ts': `export default {
  preset: 'minimal',
  plugins: ['./openai.ts'],
  providers: { openai: { apiKey: '${LITERAL_KEY}', note: process.env.OPENAI_API_KEY } },
}
`,
      'broken.config.ts': `export default {
  preset: 'minimal',
  plugins: ['./openai.ts'],
  providers: { openai: { apiKey: 'x', timeout: process.env.OPENAI_API_KEY } },
}
`,
    })
    const runs = {
      config: p.run(['config'], { env }),
      configJson: p.run(['config', '--json'], { env }),
      plugins: p.run(['plugins', '--json'], { env }),
      start: p.run(['start'], { env }),
      startDebug: p.run(['start', '--debug'], { env }),
      broken: p.run(['config', '--config', 'broken.config.ts'], { env }),
      brokenDebug: p.run(['config', '--config', 'broken.config.ts', '--debug'], { env }),
    }
    const results = Object.fromEntries(
      await Promise.all(Object.entries(runs).map(async ([name, run]) => [name, await run] as const)),
    )
    for (const [name, result] of Object.entries(results)) {
      expect(result.stdout, `${name} stdout`).not.toContain(OPENAI_KEY)
      expect(result.stderr, `${name} stderr`).not.toContain(OPENAI_KEY)
    }
    // ...and each run did reach the place where the value would have shown.
    expect(JSON.parse(results.configJson!.stdout).providers.openai.note).toBe('***')
    expect(results.config!.stdout).toContain('"note": "***"')
    expect(results.plugins!.code).toBe(0)
    expect(results.start!.stderr).toContain('[openai] warn: using the key ***')
    expect(results.startDebug!.stderr).toContain('[openai] warn: using the key ***')
    for (const broken of [results.broken!, results.brokenDebug!]) {
      expect(broken.code).toBe(1)
      expect(broken.stderr).toContain('providers.openai.timeout: expected number, got "***"')
    }
    expect(results.brokenDebug!.stderr).toMatch(STACK_LINE)
  })
})

describe.concurrent('help and version', () => {
  const commands: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['tau', []],
    ['tau start', ['start']],
    ['tau plugins', ['plugins']],
    ['tau config', ['config']],
  ]

  it.each(commands)('%s --help and -h print usage and exit 0', async (name, command) => {
    const p = await project()
    for (const flag of ['--help', '-h']) {
      const result = await p.run([...command, flag])
      expect(result.code, `${name} ${flag}: ${result.stderr}`).toBe(0)
      expect(result.stdout).toContain(`Usage: ${name} [options]`)
      expect(result.stderr).toBe('')
    }
  })

  it.each(commands)('%s --version and -v print the version and exit 0', async (name, command) => {
    const p = await project()
    for (const flag of ['--version', '-v']) {
      const result = await p.run([...command, flag])
      expect(result.code, `${name} ${flag}: ${result.stderr}`).toBe(0)
      expect(result.stdout).toBe(`${VERSION}\n`)
    }
  })

  it('root help lists the built-in commands', async () => {
    const p = await project()
    const result = await p.run(['--help'])
    expect(result.code).toBe(0)
    for (const command of ['start', 'plugins', 'config']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    }
  })
})

describe('tau from source', () => {
  it('`node --import jiti/register bin/tau.ts config` works in the repository', async () => {
    const p = await project()
    const result = await runTau(['config'], {
      cwd: REPO_ROOT,
      tauHome: p.tauHome,
      home: p.home,
      command: ['--import', 'jiti/register', 'bin/tau.ts'],
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`# file: ${join(REPO_ROOT, 'tau.config.ts')}`)
    expect(result.stdout).toContain('# preset: ')
    expect(result.stderr).not.toMatch(STACK_LINE)
  })
})
