/**
 * The contributor skills in .claude/skills/tau-<plugin>-dev/ (read by tau and by Claude Code):
 * every plugin under plugins/ has one, each is valid Agent Skills by tau's own validator (name =
 * folder, a description, no problem), says how to test the plugin and where its benchmarks are
 * (or that it has none), and every file it names in backticks exists. What hooks, config keys and
 * error codes they name is checked with the shipped skills (shipped.test.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { discoverSkills } from '../../../plugins/skills/index.js'
import { REPO } from './skill-references.js'

const DEV = join(REPO, '.claude', 'skills')
/**
 * Plugins landed by work still under way, whose contributor skills come with that work (none
 * now). Remove a name once its skill is in.
 */
const PENDING = new Set<string>([])
const TOP_DIRS = ['plugins', 'test', 'bench', 'docs', 'kernel', 'scripts', 'presets', 'sdk', 'skills', 'bin']

const plugins = readdirSync(join(REPO, 'plugins')).filter((name) =>
  statSync(join(REPO, 'plugins', name)).isDirectory(),
)
const skillOf = (plugin: string) => join(DEV, `tau-${plugin}-dev`, 'SKILL.md')

describe('contributor skills', () => {
  it('every plugin has .claude/skills/tau-<plugin>-dev/SKILL.md', () => {
    const missing = plugins.filter((plugin) => !PENDING.has(plugin) && !existsSync(skillOf(plugin)))
    expect(missing, 'write .claude/skills/tau-<plugin>-dev/SKILL.md for each').toEqual([])
    const done = [...PENDING].filter((plugin) => existsSync(skillOf(plugin)))
    expect(done, 'remove these from PENDING: their skills exist').toEqual([])
    expect(existsSync(join(DEV, 'tau-kernel-dev', 'SKILL.md'))).toBe(true)
  })

  it('each is valid Agent Skills frontmatter by tau’s validator (name = folder, no problem)', async () => {
    const index = await discoverSkills([{ dir: DEV, source: 'claude' }])
    const found = index.all.map((skill) => skill.name).sort()
    expect(found).toEqual(readdirSync(DEV).sort())
    for (const skill of index.all) {
      expect({ name: skill.name, status: skill.status, problems: skill.problems }).toEqual({
        name: skill.folder,
        status: 'ok',
        problems: [],
      })
      expect(skill.meta?.description.length ?? 0).toBeGreaterThan(80)
    }
  })

  it('each says how to test its plugin and where its benchmarks are', () => {
    for (const plugin of [...plugins.filter((p) => existsSync(skillOf(p))), 'kernel']) {
      const text = readFileSync(skillOf(plugin), 'utf8')
      expect(text, plugin).toMatch(/^## Invariants$/m)
      expect(text, plugin).toMatch(/^## Tests?\b/m)
      expect(text, `${plugin}: a benchmark file or "no benchmark"`).toMatch(/\bbench\/\S+|no\s+benchmark/i)
    }
  })

  it('every file and folder named in backticks exists', () => {
    const missing: string[] = []
    let checked = 0
    for (const folder of readdirSync(DEV)) {
      const plugin = /^tau-(.+)-dev$/.exec(folder)?.[1] ?? ''
      const text = readFileSync(join(DEV, folder, 'SKILL.md'), 'utf8')
      for (const [, token] of text.matchAll(/`([^`\s]+)`/g)) {
        const path = token!.replace(/[.,:;]+$/, '')
        const rooted = TOP_DIRS.some((dir) => path.startsWith(`${dir}/`))
        // A dot file (`.mcp.json`) is the user's project file, not the repository's.
        const bare = !path.includes('/') && /^[\w-][\w.-]*\.(ts|mts|mjs|md|json)$/.test(path)
        if (!rooted && !bare) continue
        // A glob or a placeholder names the folder it is in.
        const fixed = /[*<]/.test(path) ? dirname(path.split(/[*<]/)[0]!) : path
        const home = plugin === 'kernel' ? join(REPO, 'kernel') : join(REPO, 'plugins', plugin)
        const candidates = rooted
          ? [join(REPO, fixed)]
          : [join(home, fixed), join(REPO, 'test', 'plugins', plugin, fixed), join(REPO, fixed)]
        checked++
        if (!candidates.some((candidate) => existsSync(candidate))) missing.push(`${folder}: ${path}`)
      }
    }
    expect(checked).toBeGreaterThan(150)
    expect(missing).toEqual([])
  })
})
