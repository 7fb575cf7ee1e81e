/**
 * What the module loader reads before it loads a config or plugin module (kernel/module-graph.ts):
 * whether Node can import the graph itself, and which of tau's package ids its files name (the
 * running tau is loaded for those only).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readModuleGraph } from '../../kernel/module-graph.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A project of the given files; returns its directory. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tau-graph-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true })
    await writeFile(join(dir, name), text)
  }
  return dir
}

/** The graph of `file` in `dir`, its files relative to `dir` and sorted. */
async function graphOf(dir: string, file: string) {
  const graph = await readModuleGraph(join(dir, file))
  return { ...graph, files: graph.files.map((f) => relative(dir, f)).sort() }
}

const zod = { 'node_modules/zod/package.json': '{"name":"zod","type":"module"}' }

describe('readModuleGraph', () => {
  it('an ES module importing builtins, a local .mjs and a package that does not depend on tau: native', async () => {
    const dir = await project({
      ...zod,
      'plugin.mjs':
        "import { join } from 'node:path'\nimport 'fs'\nimport { z } from 'zod'\nimport h from './helper.mjs'\nexport default h",
      'helper.mjs': "export default await import('./lazy.mjs')",
      'lazy.mjs': 'export const x = import.meta.url',
    })
    // Its own files (where a package id would be named); the package's are not read.
    expect(await graphOf(dir, 'plugin.mjs')).toEqual({
      native: true,
      packageIds: new Set(),
      files: ['helper.mjs', 'lazy.mjs', 'plugin.mjs'],
    })
  })

  it('a .js file is native only under a package whose type is module', async () => {
    const esm = await project({ 'package.json': '{"type":"module"}', 'plugin.js': 'export default 1' })
    expect((await readModuleGraph(join(esm, 'plugin.js'))).native).toBe(true)
    const cjs = await project({ 'package.json': '{}', 'plugin.js': 'export default 1' })
    expect((await readModuleGraph(join(cjs, 'plugin.js'))).native).toBe(false)
  })

  it("a local module two imports down naming 'tau-agent/testing': native, and that id is the one mapped", async () => {
    const dir = await project({
      'plugin.mjs': "export * from './a.mjs'",
      'a.mjs': "export { createTestKernel } from 'tau-agent/testing'",
    })
    expect(await graphOf(dir, 'plugin.mjs')).toEqual({
      native: true,
      packageIds: new Set(['tau-agent/testing']),
      files: ['a.mjs', 'plugin.mjs'],
    })
  })

  it("TypeScript (the entry or an extensionless import of it) is transpiled; its files' ids are collected", async () => {
    const dir = await project({
      'tau.config.ts':
        "import { defineConfig } from 'tau'\nimport plugin from './plugin'\nexport default defineConfig({ plugins: [plugin] })",
      'plugin.mjs': "import x from './local'\nexport default x",
      'local.ts': "import type { TauPlugin } from 'tau-agent/kernel'\nconst n: number = 1\nexport default n",
    })
    expect(await graphOf(dir, 'tau.config.ts')).toEqual({
      native: false,
      packageIds: new Set(['tau', 'tau-agent/kernel']),
      files: ['local.ts', 'plugin.mjs', 'tau.config.ts'],
    })
    expect(await graphOf(dir, 'plugin.mjs')).toMatchObject({
      native: false,
      packageIds: new Set(['tau-agent/kernel']),
    })
  })

  it('a package depending on tau, a computed import() or a require(): transpiled, every id loaded', async () => {
    const dir = await project({
      'node_modules/tau-plugin-x/package.json':
        '{"name":"tau-plugin-x","peerDependencies":{"tau-agent":"*"}}',
      'a.mjs': "import x from 'tau-plugin-x'\nexport default x",
      'b.mjs': 'const name = "x"\nexport default await import(name)',
      'c.cjs': "module.exports = require('./d.cjs')",
      'd.cjs': 'module.exports = 1',
      'e.mjs': "import data from './data.json' with { type: 'json' }\nexport default data",
      'data.json': '{}',
    })
    for (const file of ['a.mjs', 'b.mjs', 'c.cjs']) {
      expect(await readModuleGraph(join(dir, file)), file).toMatchObject({
        native: false,
        packageIds: undefined,
      })
    }
    // JSON is the transpiler's (it needs no import attribute there); its ids are known.
    expect(await readModuleGraph(join(dir, 'e.mjs'))).toMatchObject({ native: false, packageIds: new Set() })
  })
})
