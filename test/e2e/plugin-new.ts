/**
 * `tau plugin new NAME` with the real binary (run by packed-package.test.ts, which packs tau once
 * for these tests and docs-snippets.ts's): the package it writes, installed against a packed
 * tarball of tau (test/e2e/packed-tau.ts), passes `tsc` and its own vitest test as generated, and
 * loads in a tau project. Names and versions come from tau's package.json, and nothing is
 * replaced without --yes.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { installPacked, type PackedTau } from './packed-tau.js'
import { cleanEnv, REPO_ROOT, STACK_LINE, useProjects } from './run-tau.js'

const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
}

/** `tau plugin new`'s tests, against `packed()` (packed before these tests run). */
export function pluginNewTests(packed: () => PackedTau): void {
  describe('tau plugin new', () => {
    const project = useProjects()

    it('writes a package that type-checks and passes its own test against the packed tau', async () => {
      const p = await project({})
      const made = await p.run(['plugin', 'new', 'hello-world'])
      expect(made.stderr).toBe('')
      expect(made.code).toBe(0)
      expect(made.stdout).toContain("plugin 'hello-world' in hello-world/ (package tau-plugin-hello-world)")
      const dir = p.path('hello-world')
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<
        string,
        Record<string, string>
      >
      expect(manifest.name).toBe('tau-plugin-hello-world')
      expect(manifest.peerDependencies).toEqual({ [pkg.name]: `^${pkg.version}` })
      expect(manifest.devDependencies![pkg.name]).toBe(`^${pkg.version}`)
      expect(await readFile(join(dir, 'index.ts'), 'utf8')).toContain(`from '${pkg.name}'`)

      await installPacked(dir, packed(), ['zod', 'typescript', 'vitest', '@types'])
      const env = cleanEnv(p.tauHome, p.home)
      const tsc = await run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir], {
        cwd: dir,
        env,
      }).then(
        () => '',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      )
      expect(tsc).toBe('')
      const vitest = await run(process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run'], {
        cwd: dir,
        env,
      }).then(
        (r) => r.stdout,
        (error: { stdout?: string; stderr?: string }) => `FAILED\n${error.stdout}\n${error.stderr}`,
      )
      expect(vitest).not.toContain('FAILED')
      // Its service, its hook, the Greet tool the scripted model calls, and its preToolUse tap.
      expect(vitest).toMatch(/Tests\s+5 passed/)
    }, 180_000)

    it('the generated plugin loads in a tau project, with its config validated', async () => {
      const p = await project({})
      expect((await p.run(['plugin', 'new', 'greeter', '--dir', 'plugins/greeter'])).code).toBe(0)
      await writeFile(
        p.path('tau.config.mjs'),
        "export default { preset: 'coding', plugins: ['./plugins/greeter/index.ts'], greeter: { greeting: 'Hi' } }\n",
      )
      const plugins = await p.run(['plugins', '--json'])
      expect(plugins.code, plugins.stderr).toBe(0)
      const listed = JSON.parse(plugins.stdout).plugins as Array<{ name: string; taps: string[] }>
      const greeter = listed.find((plugin) => plugin.name === 'greeter')
      expect(greeter).toMatchObject({
        name: 'greeter',
        dependsOn: ['tools', 'agent'],
        services: ['greeter.greeter'],
        hooks: [{ name: 'greeter.greeting' }],
      })
      expect(greeter?.taps.some((tap) => tap.includes('preToolUse'))).toBe(true)
      await writeFile(
        p.path('tau.config.mjs'),
        "export default { preset: 'coding', plugins: ['./plugins/greeter/index.ts'], greeter: { greeting: 42 } }\n",
      )
      const broken = await p.run(['config'])
      expect(broken.code).toBe(1)
      expect(broken.stderr).toContain('greeter.greeting')
      expect(broken.stderr).not.toMatch(STACK_LINE)
    })

    it('refuses a bad name clearly, and never replaces a file without --yes', async () => {
      const p = await project({})
      const bad = await p.run(['plugin', 'new', 'Bad_Name'])
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain('TAU_SCAFFOLD_USAGE')
      expect(bad.stderr).toContain("'Bad_Name' is not a plugin name")
      expect(bad.stderr).not.toMatch(STACK_LINE)

      expect((await p.run(['plugin', 'new', 'mine'])).code).toBe(0)
      await writeFile(p.path('mine/index.ts'), '// my own code\n')
      const again = await p.run(['plugin', 'new', 'mine'])
      expect(again.stdout).toContain('kept     index.ts (it exists; run with --yes to replace it)')
      expect(await readFile(p.path('mine/index.ts'), 'utf8')).toBe('// my own code\n')
      const forced = await p.run(['plugin', 'new', 'mine', '--yes'])
      expect(forced.stdout).toContain('replaced index.ts')
      expect(await readFile(p.path('mine/index.ts'), 'utf8')).toContain("name: 'mine'")
    })
  })
}
