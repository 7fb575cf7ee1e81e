/**
 * Frontmatter: the simple subset read without YAML must give exactly what gray-matter gives, and
 * hand everything else to it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseFrontmatter, parseSimpleFrontmatter, SAFE_MATTER_OPTIONS } from '../../kernel/frontmatter.js'

const require = createRequire(import.meta.url)
const matter = require('gray-matter') as typeof import('gray-matter')
const REPO_ROOT = join(import.meta.dirname, '..', '..')

const viaYaml = (text: string) => {
  const file = matter(text, SAFE_MATTER_OPTIONS)
  return { data: file.data, body: file.content }
}

/** Read by the subset: each must equal gray-matter's answer. */
const simple = [
  '---\nname: a\n---\nbody\n',
  '---\nname: a\n---\n\nbody',
  '---\nname: a\n---',
  '---\r\nname: a\r\ndescription: two words\r\n---\r\nbody\r\n',
  '---\nname: a\nallowed-tools:\n  - Read\n  - Bash(git diff:*)\n---\nb',
  '---\nname: a\nlist:\n- x\n- w\nother: z\n---\nb',
  '---\n# a comment\nname: "quoted: colon"\nsingle: \'it is\'\n---\nb',
  '---\ndescription: Covers package.json#tau, `tau config` and TAU_CONFIG_* - and (more), too.\n---\n',
  '---\nname: trailing spaces   \n---\nb',
]

/** Outside the subset: the subset declines, the YAML parser reads them. */
const declined = [
  '---\nname: a\n--- \nb', // text after the closing delimiter
  '---\nname: a\n---x\nb',
  '---\n---\nbody', // empty block
  '---\nname: a', // no closing delimiter
  '---\ncount: 3\n---\n', // a number
  '---\nenabled: true\n---\n',
  '---\nwhen: 2024-01-01\n---\n', // a date
  '---\nnothing:\n---\n', // null
  '---\nname: null\n---\n',
  '---\nlist:\n- y\n---\n', // YAML 1.1's yes/no/y/n words
  '---\nname: a: b\n---\n', // a nested mapping
  '---\nname: a # comment\n---\n',
  '---\nmeta:\n  key: value\n---\n', // a nested map
  '---\nname: a\nname: b\n---\n', // a duplicate key (YAML refuses it)
  '---\nname: >\n  folded\n---\n',
  '---\nname: "escaped \\" quote"\n---\n',
  '---\nname: [a, b]\n---\n',
  '---\nname: a\n  continued\n---\n', // a multi-line plain scalar
  '---\nlist:\n  - a\n    - b\n---\n',
  "---\nname: 'it''s'\n---\n",
  '---\nname:\ta\n---\n',
  '---json\n{"name": "a"}\n---\n',
]

describe('parseSimpleFrontmatter', () => {
  it.each(simple)('reads %j as gray-matter does', (text) => {
    const fast = parseSimpleFrontmatter(text)
    expect(fast).toBeDefined()
    expect(fast).toEqual(viaYaml(text))
    expect(parseFrontmatter(text)).toEqual(viaYaml(text))
  })

  it.each(declined)('leaves %j to the YAML parser', (text) => {
    expect(parseSimpleFrontmatter(text)).toBeUndefined()
  })

  it('parseFrontmatter still reads what the subset declines, and still refuses code', () => {
    expect(parseFrontmatter('---\ncount: 3\nmeta:\n  key: value\n---\nbody').data).toEqual({
      count: 3,
      meta: { key: 'value' },
    })
    expect(() => parseFrontmatter('---js\n{ name: process.exit(1) }\n---\n')).toThrow(/only YAML/)
  })

  it("tau's shipped skills stay in the subset, so a start does not load the YAML parser for them", () => {
    const dir = join(REPO_ROOT, 'skills')
    const names = readdirSync(dir)
    expect(names.length).toBeGreaterThan(0)
    for (const name of names) {
      const text = readFileSync(join(dir, name, 'SKILL.md'), 'utf8')
      expect(
        parseSimpleFrontmatter(text),
        `skills/${name}/SKILL.md: keep its frontmatter to plain "key: text" lines (quote a value with ": " in it)`,
      ).toEqual(viaYaml(text))
    }
  })
})
