/**
 * The real `tau` binary's `tau plugins` (dependency order, services, hooks; --json) and `tau
 * config` (defaults applied, secrets masked, in every command and error).
 */
import { describe, expect, it } from 'vitest'
import { STACK_LINE, useProjects } from './run-tau.js'

const project = useProjects()

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
