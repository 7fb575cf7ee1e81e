/** The environment facts of the system prompt: git branch and status, or why there are none. */
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { textOf } from '../../../kernel/index.js'
import { environmentSection, gitFacts } from '../../../plugins/agent/system-prompt.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { harness, tempDir } from './helpers.js'

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' },
    stdio: 'ignore',
  })

describe('system prompt: environment facts', () => {
  it('names the branch and the changed files of a git repository', async () => {
    const temp = await tempDir()
    try {
      git(temp.dir, 'init', '-q', '-b', 'feature/x')
      await writeFile(join(temp.dir, 'a.ts'), 'export {}\n')
      const facts = await gitFacts(temp.dir, HANG_LIMIT_MS)
      expect(facts).toEqual({ repo: true, branch: 'feature/x', changes: ['?? a.ts'], changeCount: 1 })
      const text = environmentSection({
        cwd: temp.dir,
        platform: 'linux (x64)',
        date: new Date('2025-01-02T03:04:05Z'),
        model: 'scripted:test',
        git: facts,
      })
      expect(text).toContain('Git repository: yes, branch feature/x')
      expect(text).toContain('Git status: 1 changed or untracked file(s)\n  ?? a.ts')
      expect(text).toContain('Date: 2025-01-02')
    } finally {
      await temp.remove()
    }
  })

  it('says "no" outside a repository, and when git is missing, without failing', async () => {
    const temp = await tempDir()
    const path = process.env.PATH
    try {
      expect(await gitFacts(temp.dir, HANG_LIMIT_MS)).toEqual({ repo: false })
      process.env.PATH = temp.dir
      expect(await gitFacts(temp.dir, HANG_LIMIT_MS)).toEqual({ repo: false, note: 'git is not installed' })
    } finally {
      process.env.PATH = path
      await temp.remove()
    }
  })

  it('puts the facts into the request the model gets', async () => {
    const temp = await tempDir()
    try {
      git(temp.dir, 'init', '-q', '-b', 'main')
      const h = await harness({ turns: [{ text: 'ok' }], cwd: temp.dir })
      await h.run(h.session(), 'hi')
      const system = textOf(h.scripted.requests[0]!.messages[0]!)
      expect(system).toContain(`Working directory: ${temp.dir}`)
      expect(system).toContain('Git repository: yes, branch main')
      expect(system).toContain('Git status: clean')
      expect(system).toContain(`Platform: ${process.platform}`)
      expect(system).toContain('Model: scripted:test')
    } finally {
      await temp.remove()
    }
  })
})
