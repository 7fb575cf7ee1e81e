/**
 * node-llama-cpp's test of its native binary (a forked process that loads it) is kept once it
 * passed (plugins/provider-local/binary-test.ts), and answered from there while the binary and
 * what it was tested with stay the same. With the real node-llama-cpp: its getLlama() and its own
 * testBindingBinary() on the real binary, on a copy of it (changed: tested again) and on a file
 * that is no binary (fails, each time: never kept).
 */

import { copyFile, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NODE_LLAMA_CPP_VERSION } from '../../../plugins/provider-local/backend.js'
import { binaryTestCounts, withKeptBinaryTest } from '../../../plugins/provider-local/binary-test.js'
import { REPO_ROOT } from '../../e2e/run-tau.js'

const require = createRequire(import.meta.url)
/** Node's own fork, before any getLlama() wrapped it. */
const nodeFork = require('node:child_process').fork
const PACKAGE = join(REPO_ROOT, 'node_modules', 'node-llama-cpp')
const BINARY = join(
  REPO_ROOT,
  'node_modules',
  '@node-llama-cpp',
  `${process.platform}-${process.arch}`,
  'bins',
)

type TestBindingBinary = (binary: string, extBackends: string | undefined, gpu: false) => Promise<boolean>
const { testBindingBinary } = (await import(
  pathToFileURL(join(PACKAGE, 'dist', 'bindings', 'utils', 'testBindingBinary.js')).href
)) as { testBindingBinary: TestBindingBinary }

let dir: string
let kept: string
const options = () => ({ dir: kept, version: NODE_LLAMA_CPP_VERSION })

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-llama-test-'))
  kept = join(dir, 'kept')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** What a call did: answered from a kept pass, or forked the real test. */
async function counted<T>(run: () => Promise<T>): Promise<{ value: T; kept: number; forked: number }> {
  const before = { ...binaryTestCounts }
  const value = await run()
  return { value, kept: binaryTestCounts.kept - before.kept, forked: binaryTestCounts.forked - before.forked }
}

const keptFiles = async () => (await readdir(kept).catch(() => [])).filter((f) => f.endsWith('.json'))

/** The prebuilt binary's folder (`bins/<platform>-<arch>[...]`, the one with llama-addon.node). */
async function binaryFolder(): Promise<string> {
  for (const name of await readdir(BINARY)) {
    if ((await readdir(join(BINARY, name))).includes('llama-addon.node')) return join(BINARY, name)
  }
  throw new Error(`no llama-addon.node under ${BINARY}`)
}

describe('provider-local: the native binary test, kept once passed', () => {
  it('getLlama tests the binary once: a later one with the same binary is answered from the kept pass', async () => {
    const lib = await import('node-llama-cpp')
    const get = () =>
      withKeptBinaryTest(options(), () =>
        lib.getLlama({ gpu: false, logLevel: lib.LlamaLogLevel.error, logger: () => undefined }),
      )
    const first = await counted(get)
    expect(first).toMatchObject({ forked: 1, kept: 0 })
    expect(await keptFiles()).toHaveLength(1)
    const second = await counted(get)
    expect(second).toMatchObject({ forked: 0, kept: 1 })
    // A working llama.cpp either way.
    expect(second.value.buildType).toBe('prebuilt')
    await first.value.dispose()
    await second.value.dispose()
    // Outside getLlama, fork is node's own again.
    expect(require('node:child_process').fork).toBe(nodeFork)
  })

  it('a file that is no binary fails its test each time, and nothing is kept', async () => {
    const broken = join(dir, 'llama-addon.node')
    await writeFile(broken, 'not a shared library')
    for (let i = 0; i < 2; i++) {
      const run = await counted(() =>
        withKeptBinaryTest(options(), () => testBindingBinary(broken, undefined, false)),
      )
      expect(run).toMatchObject({ value: false, forked: 1, kept: 0 })
    }
    expect(await keptFiles()).toEqual([])
  })

  it('a binary that changed (its mtime) is tested again', async () => {
    // A copy of the real binary beside links to its libraries (it finds them beside itself).
    const folder = await binaryFolder()
    await copyFile(join(folder, 'llama-addon.node'), join(dir, 'llama-addon.node'))
    for (const file of await readdir(folder)) {
      if (file !== 'llama-addon.node') await symlink(join(folder, file), join(dir, file))
    }
    const binary = join(dir, 'llama-addon.node')
    const test = () =>
      counted(() => withKeptBinaryTest(options(), () => testBindingBinary(binary, undefined, false)))
    expect(await test()).toMatchObject({ value: true, forked: 1, kept: 0 })
    expect(await test()).toMatchObject({ value: true, forked: 0, kept: 1 })
    await utimes(binary, new Date(), new Date(Date.now() + 60_000))
    expect(await test()).toMatchObject({ value: true, forked: 1, kept: 0 })
    expect(await keptFiles()).toHaveLength(2)
  })

  it('another node-llama-cpp version than the one tau speaks the test with: the real test, nothing kept', async () => {
    const folder = await binaryFolder()
    const run = await counted(() =>
      withKeptBinaryTest({ dir: kept, version: '0.0.0' }, () =>
        testBindingBinary(join(folder, 'llama-addon.node'), undefined, false),
      ),
    )
    expect(run).toMatchObject({ value: true, forked: 0, kept: 0 })
    expect(await keptFiles()).toEqual([])
  })
})
