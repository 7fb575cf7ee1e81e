/**
 * The git facts of a workflow run's agent sessions: sessions that start together share one
 * `git status`, and every step end drops it, so a step after one that changed the workspace sees
 * the change in its system prompt (a real git repository, real git).
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { GitFacts } from '../../../plugins/agent/index.js'
import { GitSnapshots } from '../../../plugins/orchestrate/git-snapshots.js'
import { agent, chain, defineWorkflow, parallel, step } from '../../../plugins/orchestrate/index.js'
import { harness, systemOf } from './helpers.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('GitSnapshots', () => {
  it('one git status per run and workspace until the run changes the workspace', async () => {
    const calls: string[] = []
    const snapshots = new GitSnapshots(async (cwd) => {
      calls.push(cwd)
      return { repo: true, changeCount: calls.length } satisfies GitFacts
    })
    const together = await Promise.all([
      snapshots.get('run-1', '/w', 1000),
      snapshots.get('run-1', '/w', 1000),
      snapshots.get('run-1', '/w', 1000),
    ])
    expect(calls).toEqual(['/w'])
    expect(new Set(together).size).toBe(1)
    // Another workspace and another run look for themselves.
    await snapshots.get('run-1', '/other', 1000)
    await snapshots.get('run-2', '/w', 1000)
    expect(calls).toEqual(['/w', '/other', '/w'])
    // A step of run-1 ended: its next session looks again, run-2 keeps its snapshot.
    snapshots.changed('run-1')
    expect(await snapshots.get('run-1', '/w', 1000)).toMatchObject({ changeCount: 4 })
    expect(await snapshots.get('run-2', '/w', 1000)).toMatchObject({ changeCount: 3 })
    expect(calls).toHaveLength(4)
  })
})

describe("a workflow's sessions' git facts", () => {
  it('a step after one that wrote a file sees it in git status, parallel sections too', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'tau-orch-git-'))
    dirs.push(cwd)
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd })
    const h = await harness({
      cwd,
      turns: [{ text: 'first' }, { text: 'a' }, { text: 'b' }, { text: 'after' }],
    })
    const workflow = defineWorkflow({
      name: 'git-facts',
      input: z.string(),
      run: chain([
        agent({ agent: 'writer', name: 'first' }),
        step('touch', async (input: string) => {
          await writeFile(join(cwd, 'made-by-a-step.txt'), 'x')
          return input
        }),
        parallel({
          sections: { a: agent({ agent: 'critic' }), b: agent({ agent: 'critic' }) },
          aggregate: (r) => `${r.outputs.a} ${r.outputs.b}`,
        }),
        agent({ agent: 'writer', name: 'after' }),
      ]),
    })
    const { outcome } = await h.run(workflow, 'go')
    expect(outcome).toMatchObject({ isError: false, output: 'after' })
    const gitLines = h.requests.map((r) =>
      systemOf(r)
        .split('\n')
        .filter((line) => line.includes('Git status') || line.includes('made-by-a-step')),
    )
    expect(gitLines[0]).toEqual(['- Git status: clean'])
    // Both sections, and the step after them, see the file the code step wrote.
    for (const lines of gitLines.slice(1)) {
      expect(lines).toEqual(['- Git status: 1 changed or untracked file(s)', '  ?? made-by-a-step.txt'])
    }
  })
})
