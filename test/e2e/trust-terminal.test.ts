/**
 * Workspace trust's question in the terminal, the way a person meets it: the real binary in a
 * pseudo-terminal (tmux, on a private socket), a project that is not trusted yet and whose
 * `.claude/settings.json` asks for an allow rule. "y" remembers the folder in `$TAU_HOME/trust.json`
 * and the next start asks nothing; "n" leaves it untrusted and says what was held back. Needs tmux
 * on PATH (CI installs it).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Project, useProjects } from './run-tau.js'
import { usePanes } from './tmux-pane.js'

const project = useProjects()
const panes = usePanes()

// JSON: the config's form is not under test (and a project's config is not gated by trust:
// plugins/trust/README.md); a tau.config.ts costs each start jiti's load.
const CONFIG = JSON.stringify({
  preset: 'coding',
  model: 'scripted:x',
  providers: { scripted: { turns: [] } },
})

/** `tau start` in a tmux pane, `runs` times in a row, with no TAU_TRUST: the question comes first. */
const open = (p: Project, name: string, runs = 1) => panes(p, { name, runs, columns: 100, trusted: false })

const trustFile = (p: Project) => join(p.tauHome, 'trust.json')

async function untrustedProject(): Promise<Project> {
  return project({
    'tau.config.json': CONFIG,
    '.claude/settings.json': JSON.stringify({ permissions: { allow: ['Bash(make:*)'] } }),
  })
}

describe('workspace trust in the terminal', () => {
  it('asks first; "y" remembers the folder, and the next start asks nothing', async () => {
    const p = await untrustedProject()
    const t = open(p, 'yes', 2)
    const asked = await t.waitFor(/Trust this folder\? \[y\/N\]/)
    expect(asked).toContain('Do you trust the files in')
    expect(asked).toMatch(/1 allow rule of .*settings\.json/)
    t.type('y')
    await t.waitFor(/Type a prompt/)
    const trusted = JSON.parse(readFileSync(trustFile(p), 'utf8')) as { workspaces: Record<string, unknown> }
    expect(Object.keys(trusted.workspaces)).toContain(realpathSync(p.dir))
    t.type('/exit')
    expect(await t.exitCode(1)).toBe('0')
    // The second start: no question, straight to the prompt.
    await t.waitFor(/Type a prompt[\s\S]*Type a prompt/)
    expect(t.screen().match(/Trust this folder\?/g)).toHaveLength(1)
    t.type('/exit')
    expect(await t.exitCode(2)).toBe('0')
  })

  it('"n" (or Enter) leaves it untrusted: nothing is remembered, and tau says what it held back', async () => {
    const p = await untrustedProject()
    const t = open(p, 'no')
    await t.waitFor(/Trust this folder\? \[y\/N\]/)
    t.type('n')
    const shown = await t.waitFor(/Type a prompt/)
    expect(shown).toMatch(/not trusted|held back|left out/i)
    expect(existsSync(trustFile(p))).toBe(false)
    t.type('/exit')
    expect(await t.exitCode()).toBe('0')
  })
})
