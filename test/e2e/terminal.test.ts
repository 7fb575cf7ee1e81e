/**
 * The interactive terminal the way a person uses it: the real binary in a pseudo-terminal (tmux,
 * on a private socket), a scripted model, keys typed, the screen read. Needs tmux on PATH.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const sockets: string[] = []
afterAll(() => {
  for (const socket of sockets) {
    try {
      execFileSync('tmux', ['-S', socket, 'kill-server'], { stdio: 'ignore' })
    } catch {}
  }
})

const TERMINAL = join(REPO_ROOT, 'dist', 'plugins', 'terminal', 'index.js')

const TURNS = [
  { text: 'Hello from the scripted model, streaming in pieces.' },
  { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: 'denied.txt', content: 'no' } }] },
  { text: 'Understood, I did not write it.' },
  { text: 'Greeting done.' },
  { toolCalls: [{ id: 'b1', name: 'Bash', input: { command: 'echo $$ > sleeper.pid; exec sleep 300' } }] },
  { text: 'Still here after the interrupt.' },
]

function tmux(socket: string, ...args: string[]): string {
  return execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' })
}

async function waitForScreen(socket: string, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let screen = ''
  while (Date.now() < deadline) {
    try {
      screen = tmux(socket, 'capture-pane', '-p', '-J', '-S', '-200', '-t', 'tau')
    } catch {
      screen = '(pane gone)'
    }
    if (pattern.test(screen)) return screen
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`screen never matched ${pattern}:\n${screen}`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('tau start in a terminal', () => {
  it('streams, asks permission both ways, runs slash commands, survives Ctrl-C, exits 0', async () => {
    const p = await project({
      'tau.config.ts': `import { defineConfig } from 'tau'

export default defineConfig({
  preset: 'coding',
  plugins: [${JSON.stringify(TERMINAL)}],
  model: 'scripted:x',
  providers: { scripted: { turns: ${JSON.stringify(TURNS)} } },
})
`,
      '.tau/commands/greet.md':
        '---\ndescription: Greets someone by name\nargument-hint: NAME\n---\nSay hello to $ARGUMENTS politely.\n',
      'run.sh': `#!/bin/sh
cd "$(dirname "$0")"
node ${JSON.stringify(join(REPO_ROOT, 'dist', 'bin', 'tau.js'))} start
echo $? > exit.code
sleep 1
`,
    })
    const env = `PATH=${process.env.PATH} TAU_HOME=${p.tauHome} HOME=${p.home} NO_COLOR=1 TERM=xterm`
    const socket = join(p.tauHome, 'tmux.sock')
    sockets.push(socket)
    tmux(
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'tau',
      '-x',
      '80',
      '-y',
      '50',
      `env -i ${env} sh ${p.path('run.sh')}`,
    )
    const keys = (...k: string[]) => tmux(socket, 'send-keys', '-t', 'tau', ...k)
    const type = (text: string) => {
      keys('-l', text)
      keys('Enter')
    }

    await waitForScreen(socket, /Type a prompt/)
    type('hello there')
    await waitForScreen(socket, /Hello from the scripted model, streaming in pieces\./)
    await waitForScreen(socket, /\d+ in · \d+ out/)

    type('write a file')
    await waitForScreen(socket, /\? Allow Write\?/)
    type('3')
    await waitForScreen(socket, /reason for the model/)
    type('not today')
    await waitForScreen(socket, /Understood, I did not write it\./)
    expect(p.exists('denied.txt')).toBe(false)

    type('/help')
    let screen = await waitForScreen(socket, /\/greet NAME\s+Greets someone by name/)
    expect(screen).toMatch(/\/permissions/)
    type('/greet World')
    screen = await waitForScreen(socket, /Greeting done\./)
    expect(screen).toMatch(/\/greet: Say hello to World politely\./)

    type('run something long')
    await waitForScreen(socket, /\? Allow Bash\?/)
    type('1')
    const pidFile = p.path('sleeper.pid')
    const deadline = Date.now() + 10_000
    while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    expect(alive(pid)).toBe(true)
    await new Promise((r) => setTimeout(r, 300))
    keys('C-c')
    await waitForScreen(socket, /interrupted ·/)
    await new Promise((r) => setTimeout(r, 1200))
    expect(alive(pid)).toBe(false)

    type('are you there')
    await waitForScreen(socket, /Still here after the interrupt\./)
    type('/exit')
    const codeFile = p.path('exit.code')
    const end = Date.now() + 10_000
    while (!existsSync(codeFile) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    expect(readFileSync(codeFile, 'utf8').trim()).toBe('0')
  }, 60_000)
})
