/**
 * docs/claude-code.md's flag table and the flags `tau start -p` accepts are the same set: a flag
 * added to the parser without a line in the doc, or a line for a flag tau does not take, fails.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { HEADLESS_OPTIONS, parseHeadlessArgs } from '../../plugins/headless/index.js'

const doc = readFileSync(fileURLToPath(new URL('../../docs/claude-code.md', import.meta.url)), 'utf8')

/** The flags in the first column of the table under "## Flags of `tau start -p`". */
function documentedFlags(): string[] {
  const section = doc.slice(doc.indexOf('## Flags of `tau start -p`'))
  const table = section.slice(0, section.indexOf('\n## '))
  const flags: string[] = []
  for (const line of table.split('\n')) {
    const cell = /^\| `([^`]+)` \|/.exec(line)?.[1]
    if (cell === undefined) continue
    for (const part of cell.split(',')) if (part.trim().startsWith('--')) flags.push(part.trim())
  }
  return flags
}

/** The parser's long options, in their kebab-case spelling (the camelCase ones are aliases). */
const acceptedFlags = () =>
  Object.keys(HEADLESS_OPTIONS)
    .filter((name) => name === name.toLowerCase())
    .map((name) => `--${name}`)

describe('docs/claude-code.md', () => {
  it('lists exactly the flags tau start -p accepts', () => {
    const documented = documentedFlags()
    expect(documented.length).toBeGreaterThan(20)
    expect([...documented].sort()).toEqual(acceptedFlags().sort())
  })

  it('names as not accepted only flags the parser refuses', () => {
    const line = doc.split('\n').find((l) => l.startsWith('Not accepted yet')) ?? ''
    const refused = [...line.matchAll(/`(--[a-z-]+)`/g)].map((m) => m[1] ?? '')
    expect(refused.length).toBeGreaterThan(0)
    for (const flag of refused) expect(parseHeadlessArgs([flag, 'x']).ok, flag).toBe(false)
  })
})
