/** Custom slash commands: template expansion, safe front matter, loading from .tau/commands. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expandTemplate, loadCommands, parseSlash } from '../../../plugins/terminal/index.js'
import { summarizeInput, truncate } from '../../../plugins/terminal/render.js'

describe('terminal commands', () => {
  it('expands $ARGUMENTS and $1..$9, and appends arguments a template does not use', () => {
    expect(expandTemplate('Fix issue $ARGUMENTS now', ' 12 fast ')).toBe('Fix issue 12 fast now')
    expect(expandTemplate('Move $1 to $2', 'a.ts b.ts')).toBe('Move a.ts to b.ts')
    expect(expandTemplate('Review the code', 'carefully')).toBe('Review the code\n\nARGUMENTS: carefully')
  })

  it('parses slash lines', () => {
    expect(parseSlash('/model ollama:qwen3:8b')).toEqual({ name: 'model', args: 'ollama:qwen3:8b' })
    expect(parseSlash('hello /model')).toBeUndefined()
  })

  it('loads YAML front matter and refuses ---js without running it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tau-terminal-'))
    try {
      await mkdir(join(dir, '.tau', 'commands'), { recursive: true })
      await writeFile(join(dir, '.tau', 'commands', 'ok.md'), '---\ndescription: Fine\n---\nDo $ARGUMENTS\n')
      await writeFile(
        join(dir, '.tau', 'commands', 'evil.md'),
        '---js\n{ description: (globalThis.__tauPwned = true, "x") }\n---\nbody\n',
      )
      const loaded = await loadCommands(dir)
      expect(loaded.commands.map((c) => [c.name, c.description, c.template])).toEqual([
        ['ok', 'Fine', 'Do $ARGUMENTS'],
      ])
      expect(loaded.problems.join('\n')).toMatch(/evil\.md: .*refused/)
      expect((globalThis as { __tauPwned?: boolean }).__tauPwned).toBeUndefined()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('summarises and truncates tool input to fit the line', () => {
    expect(summarizeInput('Bash', { command: 'npm test' })).toBe('npm test')
    const cut = truncate('x'.repeat(200), 40)
    expect(Array.from(cut)).toHaveLength(40)
    expect(cut.endsWith('…')).toBe(true)
  })
})
