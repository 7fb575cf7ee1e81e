/**
 * Where subagent definitions come from besides the config: agent files in .tau/agents and
 * <tauHome>/agents (---js front matter refused without running it), and the user's Claude Code
 * directory, read from the kernel's claudeHome only.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { subagentCatalogRef } from '../../../plugins/subagents/index.js'
import { collect, tempDir, toolText } from '../agent/helpers.js'
import { dirs, setup, task, toolNames } from './helpers.js'

describe('agent files', () => {
  it('discovers .tau/agents and <tauHome>/agents, and refuses ---js front matter without running it', async () => {
    const h = await setup({
      files: {
        '.tau/agents/finder.md':
          '---\nname: finder\ndescription: Finds things\ntools: Echo, Secret\nmodel: inherit\n---\nFINDER BODY\n',
        '~/agents/helper.md': '---\nname: helper\ndescription: Helps\n---\nHELPER BODY\n',
        '.tau/agents/evil.md':
          "---js\n{ name: (globalThis.__tauSubagentPwned = true, 'evil'), description: 'x' }\n---\nEVIL\n",
        '.tau/agents/broken.md': 'no frontmatter here\n',
      },
      turns: [task('t', 'finder'), { text: 'found it' }, { text: 'ok' }],
    })
    const catalog = h.kernel.resolve(subagentCatalogRef)
    const names = catalog.list().map((a) => a.name)
    expect(names).toEqual(['reader', 'other', 'finder', 'helper', 'general-purpose'])
    expect((globalThis as { __tauSubagentPwned?: boolean }).__tauSubagentPwned).toBeUndefined()
    const problems = catalog.problems()
    expect(problems.map((p) => p.file.split('/').at(-1))).toEqual(['broken.md', 'evil.md'])
    expect(problems[1]!.message).toContain("'js' is refused")

    const events = await collect(h.session().run('go'))
    expect(toolText(events, 't')).toBe('found it')
    const task0 = h.scripted.requests[0]!.tools!.find((t) => t.name === 'Task')!
    expect(task0.description).toContain('finder: Finds things')
    expect(task0.description).not.toContain('evil')
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Secret'])
    expect(JSON.stringify(h.scripted.requests[1]!.messages)).toContain('FINDER BODY')
  })
})

describe("the user's Claude Code directory", () => {
  it("reads agents from the kernel's claudeHome (the test kit's temp one), never from $HOME or $CLAUDE_CONFIG_DIR", async () => {
    // Agent files where the real home would be read from: $HOME/.claude and $CLAUDE_CONFIG_DIR.
    const decoyHome = await tempDir('tau-subagents-decoy-home-')
    const decoyConfig = await tempDir('tau-subagents-decoy-config-')
    dirs.push(decoyHome, decoyConfig)
    const decoy = (name: string) => `---\nname: ${name}\ndescription: must not be read\n---\nDECOY\n`
    await mkdir(join(decoyHome.dir, '.claude', 'agents'), { recursive: true })
    await writeFile(join(decoyHome.dir, '.claude', 'agents', 'home-decoy.md'), decoy('home-decoy'))
    await mkdir(join(decoyConfig.dir, 'agents'), { recursive: true })
    await writeFile(join(decoyConfig.dir, 'agents', 'config-decoy.md'), decoy('config-decoy'))
    const saved = { HOME: process.env.HOME, CLAUDE_CONFIG_DIR: process.env.CLAUDE_CONFIG_DIR }
    process.env.HOME = decoyHome.dir
    process.env.CLAUDE_CONFIG_DIR = decoyConfig.dir
    try {
      const h = await setup({
        files: {
          '~/claude-home/agents/claude-user.md':
            '---\nname: claude-user\ndescription: From ~/.claude\n---\nX\n',
        },
        turns: [{ text: 'ok' }],
      })
      expect(h.kernel.paths.claudeHome).toBe(join(h.kernel.paths.tauHome, 'claude-home'))
      const names = h.kernel
        .resolve(subagentCatalogRef)
        .list()
        .map((a) => a.name)
      expect(names).toContain('claude-user')
      expect(names).not.toContain('home-decoy')
      expect(names).not.toContain('config-decoy')
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    }
  })
})
