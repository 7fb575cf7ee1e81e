/**
 * A directory swapped for a symlink to outside while the model writes into it. A separate local
 * process swaps `d/` between a real directory and a symlink to a directory outside the workspace,
 * as fast as it can, while Write creates files in `d/` one after another. Nothing may ever land
 * outside, and a write that reports an error must have written nothing anywhere.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { writeTool } from '../../../plugins/tools/builtins/write.js'
import { createHarness, type Harness } from './tool-harness.js'

/**
 * The swapper: a bounded loop (it stops by itself after MAX_SWAPS, or earlier when its stdin
 * closes). Each step tolerates the state a concurrent mkdir may leave (EEXIST, ENOTEMPTY).
 */
const SWAPPER = `
const fs = require('node:fs')
const [d, kept, outside] = process.argv.slice(1)
const MAX_SWAPS = 200000
let stop = false
process.stdin.on('end', () => { stop = true }).resume()
let swaps = 0
const step = (f) => { try { f() } catch {} }
const loop = () => {
  for (let i = 0; i < 200 && swaps < MAX_SWAPS; i++, swaps++) {
    step(() => fs.renameSync(d, kept))
    step(() => fs.symlinkSync(outside, d))
    step(() => fs.unlinkSync(d))
    step(() => fs.renameSync(kept, d))
  }
  if (swaps === 200) process.stdout.write('swapping\\n')
  if (stop || swaps >= MAX_SWAPS) {
    // Leave d as the real directory.
    step(() => { if (fs.lstatSync(d).isSymbolicLink()) fs.unlinkSync(d) })
    step(() => fs.renameSync(kept, d))
    process.stdout.write('swaps ' + swaps + '\\n')
    process.exit(0)
  }
  setImmediate(loop)
}
loop()
`

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(entry.name)
  }
  return out
}

let h: Harness
let outside: string
beforeEach(async () => {
  h = await createHarness()
  outside = await realpath(await mkdtemp(join(tmpdir(), 'tau-outside-')))
})
afterEach(async () => {
  await h.cleanup()
  await rm(outside, { recursive: true, force: true })
})

describe('Write while a directory is swapped for a symlink to outside', () => {
  it('never lands outside the workspace, and an error means nothing was written', async () => {
    const d = join(h.dir, 'd')
    await mkdir(d)
    const swapper = spawn(process.execPath, ['-e', SWAPPER, d, join(h.dir, 'd-kept'), outside], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let said = ''
    const exited = new Promise<void>((resolve) => swapper.on('exit', () => resolve()))
    await new Promise<void>((resolve, reject) => {
      swapper.stdout.on('data', (chunk: Buffer) => {
        said += chunk
        if (said.includes('swapping') || said.includes('swaps')) resolve()
      })
      swapper.on('error', reject)
    })

    const WRITES = 300
    const failed: string[] = []
    const written: string[] = []
    for (let i = 0; i < WRITES; i++) {
      const name = `f${i}.txt`
      const result = await h.run(writeTool, { file_path: `d/${name}`, content: `write ${i}\n` })
      ;(result.isError ? failed : written).push(name)
    }
    swapper.stdin.end()
    await exited

    // Where the race lands, if anywhere: outside, in d/, or in the directory while it was moved.
    expect(await filesUnder(outside)).toEqual([])
    const inside = new Set(await filesUnder(h.dir))
    for (const name of failed) expect(inside.has(name), `${name} failed but was written`).toBe(false)
    for (const name of written) expect(inside.has(name), `${name} succeeded but is missing`).toBe(true)
    // No temporary file is left behind either.
    expect([...inside].filter((name) => name.includes('.tau-'))).toEqual([])
    expect(written.length + failed.length).toBe(WRITES)
  })
})
