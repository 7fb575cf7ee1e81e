/** Prompt history across sessions: per project, mode 0600, a torn line skipped. */
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PromptHistory } from '../../../plugins/terminal/history.js'

let home: string
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'tau-history-'))
})
afterEach(async () => {
  await rm(home, { recursive: true, force: true })
})

describe('prompt history', () => {
  it('keeps each project its own prompts, newest last, across instances', async () => {
    const a = PromptHistory.at(home, '/work/a')
    await a.add('first')
    await a.add('first')
    await a.add('multi\nline')
    await PromptHistory.at(home, '/work/b').add('other project')
    expect((await stat(a.file)).mode & 0o777).toBe(0o600)
    expect(await PromptHistory.at(home, '/work/a').load()).toEqual(['first', 'multi\nline'])
    expect(await PromptHistory.at(home, '/work/b').load()).toEqual(['other project'])
  })

  it('skips a torn last line and reads on', async () => {
    const h = PromptHistory.at(home, '/p')
    await h.add('kept')
    await appendFile(h.file, '{"project":"/p","te')
    const again = PromptHistory.at(home, '/p')
    expect(await again.load()).toEqual(['kept'])
    await again.add('after')
    expect(await PromptHistory.at(home, '/p').load()).toEqual(['kept', 'after'])
    expect(await readFile(h.file, 'utf8')).toContain('"text":"after"')
  })

  it('is empty without a file, and stores no blank prompt', async () => {
    const h = PromptHistory.at(home, '/p')
    expect(await h.load()).toEqual([])
    await h.add('   ')
    expect(h.list).toEqual([])
  })
})
