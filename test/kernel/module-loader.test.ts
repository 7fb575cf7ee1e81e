/**
 * The module loader's one jiti outlives the TAU_HOME it was made for: when that home is removed
 * (a test's or a library user's temporary one), the next TypeScript module still loads, through
 * a loader that caches under the caller's home. With isolate:false unit workers this was an
 * order dependence: a later file's tau.config.ts failed with ENOENT in a removed cache directory.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultExport, importModule, transpileCacheDir } from '../../kernel/module-loader.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

describe('importModule across TAU_HOMEs', () => {
  it('loads a new TypeScript module after the home the loader first cached in was removed', async () => {
    const first = await temp('tau-loader-home1-')
    const code = await temp('tau-loader-code-')
    const a = join(code, 'a.ts')
    await writeFile(a, 'const value: number = 1\nexport default value\n')
    expect(defaultExport(await importModule(a, first))).toBe(1)
    // The cache the loader writes to: this file's home, or an earlier file's (one loader a process).
    const cache = transpileCacheDir()
    expect(cache).toBeDefined()
    await rm(cache!, { recursive: true, force: true })
    await rm(first, { recursive: true, force: true })

    const second = await temp('tau-loader-home2-')
    const b = join(code, 'b.ts')
    await writeFile(b, 'const value: number = 2\nexport default value\n')
    expect(defaultExport(await importModule(b, second))).toBe(2)
    // The removed cache stays removed; the loader now caches under the caller's home.
    expect(existsSync(cache!)).toBe(false)
    expect(transpileCacheDir()).toBe(join(second, 'cache', 'jiti'))
  })
})

// Under vitest the import goes through vite's module runner; test/e2e/config-forms.test.ts sees
// the real binary load a .mjs config and plugin with no transpile cache written.
describe('importModule of JavaScript that Node can load', () => {
  it('imports it as an ES module (a module namespace, not a transpiled copy), once', async () => {
    const home = await temp('tau-loader-home-')
    const code = await temp('tau-loader-code-')
    const file = join(code, 'plugin.mjs')
    await writeFile(file, "import { helper } from './helper.mjs'\nexport default helper\n")
    await writeFile(join(code, 'helper.mjs'), 'export const helper = { n: 1 }\n')
    const namespace = await importModule(file, home)
    expect(Object.prototype.toString.call(namespace)).toBe('[object Module]')
    expect(defaultExport(namespace)).toEqual({ n: 1 })
    expect(await importModule(file, home)).toBe(namespace)
  })
})
