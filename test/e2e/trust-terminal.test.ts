/**
 * Workspace trust's question in the terminal, the way a person meets it: the real binary in a
 * pseudo-terminal (tmux, on a private socket), a project that is not trusted yet and whose
 * `.claude/settings.json` asks for an allow rule. "y" remembers the folder in `$TAU_HOME/trust.json`
 * and the next start asks nothing; "n" leaves it untrusted and says what was held back. Needs tmux
 * on PATH (CI installs it).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Project, REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const sockets: string[] = []
afterAll(() => {
  for (const socket of sockets) {
    try {
      execFileSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' })
    } catch {}
  }
})

const TAU = JSON.stringify(join(REPO_ROOT, 'dist', 'bin', 'tau.js'))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const CONFIG = `export default {
  preset: 'coding',
  model: 'scripted:x',
  providers: { scripted: { turns: [] } },
}
`

/** `tau start` in a tmux pane, `runs` times in a row, with no TAU_TRUST: the question comes first. */
function open(p: Project, name: string, runs = 1) {
  const script = Array.from(
    { length: runs },
    (_, i) => `node ${TAU} start\necho $? > ${name}-${i + 1}.code`,
  ).join('\n')
  const runSh = p.path(`${name}.sh`)
  writeFileSync(runSh, `#!/bin/sh\ncd "$(dirname "$0")"\n${script}\nsleep 2\n`)
  const env = [
    `PATH=${process.env.PATH}`,
    `TAU_HOME=${p.tauHome}`,
    `HOME=${p.home}`,
    'NO_COLOR=1 TERM=xterm',
  ].join(' ')
  const socket = join(p.tauHome, `${name}.sock`)
  sockets.push(socket)
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' })
  tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-s',
    'tau',
    '-x',
    '100',
    '-y',
    '40',
    `env -i ${env} sh ${runSh}`,
  )
  const screen = () => {
    try {
      return tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', 'tau')
    } catch {
      return '(pane gone)'
    }
  }
  return {
    screen,
    type(text: string) {
      tmux('send-keys', '-t', 'tau', '-l', text)
      tmux('send-keys', '-t', 'tau', 'Enter')
    },
    async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
      const deadline = Date.now() + timeoutMs
      let text = ''
      while (Date.now() < deadline) {
        text = screen()
        if (pattern.test(text)) return text
        await sleep(100)
      }
      throw new Error(`screen never matched ${pattern}:\n${text}`)
    },
    async exitCode(run = 1): Promise<string> {
      const file = p.path(`${name}-${run}.code`)
      const deadline = Date.now() + 15_000
      while (!existsSync(file) && Date.now() < deadline) await sleep(50)
      return readFileSync(file, 'utf8').trim()
    },
  }
}

const trustFile = (p: Project) => join(p.tauHome, 'trust.json')

async function untrustedProject(): Promise<Project> {
  return project({
    'tau.config.ts': CONFIG,
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
  }, 90_000)

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
  }, 90_000)
})
