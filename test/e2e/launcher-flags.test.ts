/**
 * The V8 flags the `tau` command sets for itself (bin/v8-flags.ts), through the real binary: its
 * young generation keeps its initial size, unless the user sizes it in Node's arguments or
 * NODE_OPTIONS, and a program that only imports tau keeps V8's defaults. A probe preloaded into
 * the process (--require) makes the young generation work at exit, keeping 400,000 objects
 * alive across scavenges (which makes V8 grow it when it may), and prints its size. What the
 * setting saves is in bench/loop-floor.mjs (docs/benchmarks.md), never here.
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { commandV8Flags } from '../../bin/v8-flags.js'
import { REPO_ROOT, TAU_BIN, useProjects } from './run-tau.js'

const project = useProjects()

const PROBE = `process.on('exit', () => {
  const kept = []
  for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i })
  const space = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
  process.stderr.write('NEW_SPACE ' + space.space_size + ' ' + kept.length + '\\n')
})
`

/** The young generation's size at exit, in MiB, from the probe's line. */
function newSpaceOf(stderr: string): number {
  const match = /NEW_SPACE (\d+) 400000/.exec(stderr)
  if (!match) throw new Error(`the probe printed no size:\n${stderr}`)
  return Number(match[1]) / 1048576
}

describe("the command's V8 flags", () => {
  it('keeps the young generation at its initial size, unless the user sizes it', async () => {
    const p = await project()
    const probe = join(p.home, 'probe.cjs')
    writeFileSync(probe, PROBE)
    const run = async (command: string[], env: Record<string, string> = {}) => {
      const result = await p.run(['--version'], { command: [...command, TAU_BIN], env })
      expect(result.code, result.stderr).toBe(0)
      return newSpaceOf(result.stderr)
    }
    // Node 20 to 24 start the young generation at 2 to 2.5 MiB and grow it up to 32 when it may.
    expect(await run(['--require', probe])).toBeLessThanOrEqual(4)
    expect(await run([], { NODE_OPTIONS: `--require ${probe}` })).toBeLessThanOrEqual(4)
    // The user's own setting is left alone, in node's arguments or NODE_OPTIONS; that the probe
    // then sees a larger young generation is also what shows it can see one grow.
    expect(await run(['--require', probe, '--semi-space-growth-factor=2'])).toBeGreaterThanOrEqual(16)
    expect(
      await run([], { NODE_OPTIONS: `--require ${probe} --max-semi-space-size=8` }),
    ).toBeGreaterThanOrEqual(16)
  })

  it('are set by the command only: a program importing tau keeps V8 defaults', () => {
    const program = `await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'sdk', 'index.js'))})\n${PROBE.replace("require('node:v8')", "process.getBuiltinModule('node:v8')")}`
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' })
    expect(result.status, result.stderr).toBe(0)
    expect(newSpaceOf(result.stderr)).toBeGreaterThanOrEqual(16)
  })

  it('leave the flags to the user only where they size the young generation', () => {
    expect(commandV8Flags([], undefined)).toEqual(['--liftoff-only', '--semi-space-growth-factor=1'])
    expect(commandV8Flags(['--max_semi_space_size=4'], undefined)).toEqual(['--liftoff-only'])
    expect(commandV8Flags([], '--min-semi-space-size=2')).toEqual(['--liftoff-only'])
    expect(commandV8Flags(['--enable-source-maps'], '--max-old-space-size=512')).toEqual([
      '--liftoff-only',
      '--semi-space-growth-factor=1',
    ])
  })
})
