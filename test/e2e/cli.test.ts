/**
 * The real `tau` binary on its happy paths: start, exit codes from a frontend, help and version,
 * and tau run from source. Signals are in cli-signals.test.ts, `tau plugins` and `tau config` in
 * cli-plugins-config.test.ts (split so the files run side by side).
 */
import { readFileSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  HANG_LIMIT_MS,
  markerPlugin,
  type Project,
  REPO_ROOT,
  runTau,
  STACK_LINE,
  type TauResult,
  useProjects,
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

describe.concurrent('help and version', () => {
  const commands: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['tau', []],
    ['tau start', ['start']],
    ['tau plugins', ['plugins']],
    ['tau config', ['config']],
  ]

  /** `tau --help`'s run, shared with the test of what root help lists (one run, not two). */
  let rootHelp: Promise<TauResult> | undefined
  const run = (p: Project, args: readonly string[]) => {
    if (args.length === 1 && args[0] === '--help') {
      rootHelp ??= p.run(args)
      return rootHelp
    }
    return p.run(args)
  }

  it.each(commands)('%s --help and -h print usage and exit 0', async (name, command) => {
    const p = await project()
    for (const flag of ['--help', '-h']) {
      const result = await run(p, [...command, flag])
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
    const result = await run(p, ['--help'])
    expect(result.code).toBe(0)
    for (const command of ['start', 'plugins', 'config']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
    }
  })
})

/**
 * The from-source run's hang limit: jiti transpiles and loads the CLI, the kernel and the coding
 * preset's plugins (their config schemas) from TypeScript, 6-16 s of CPU on a cold cache, so at a
 * load of 30 on two cores it can take longer than HANG_LIMIT_MS (it was killed there once). A limit
 * for hangs only: the test waits for the process, never for a time.
 */
const FROM_SOURCE_LIMIT_MS = 3 * HANG_LIMIT_MS

describe('tau from source', () => {
  it(
    '`node --import jiti/register bin/tau.ts config` works in the repository',
    async () => {
      const p = await project()
      const result = await runTau(['config'], {
        cwd: REPO_ROOT,
        tauHome: p.tauHome,
        home: p.home,
        command: ['--import', 'jiti/register', 'bin/tau.ts'],
        timeoutMs: FROM_SOURCE_LIMIT_MS,
      })
      expect(result.timedOut, 'killed at the hang limit').toBe(false)
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toContain(`# file: ${join(REPO_ROOT, 'tau.config.ts')}`)
      expect(result.stdout).toContain('# preset: ')
      expect(result.stderr).not.toMatch(STACK_LINE)
    },
    FROM_SOURCE_LIMIT_MS + 30_000,
  )
})
