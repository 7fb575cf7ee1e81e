import { existsSync, readFileSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  BASH_CWD_KEY,
  bashTool,
  createBashTool,
  splitMarker,
  truncateMiddle,
} from '../../../plugins/tools/builtins/bash.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { createWorkspace, textOf, type Workspace } from './builtins-context.js'

let ws: Workspace
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.dispose()
})

const bash = (command: string, extra: Record<string, unknown> = {}, signal?: AbortSignal) =>
  ws.run(bashTool, { command, ...extra }, signal)

/** kill -0 says the pid exists; a zombie (killed, waiting for init to reap it) is not alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

/** Polls briefly: a killed process may take a moment to be reaped. */
/** Polls until the process is gone (a loaded machine may take a while to deliver the kill and reap). */
async function expectDead(pid: number): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  expect(alive(pid), `process ${pid} survived`).toBe(false)
}

/** Polls until a condition holds, up to a deadline (never a fixed sleep). */
async function until(condition: () => boolean, what: string, ms = HANG_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function readPid(file: string): Promise<number> {
  const pid = Number((await readFile(join(ws.root, file), 'utf8')).trim())
  expect(pid).toBeGreaterThan(0)
  return pid
}

describe('Bash', () => {
  it('declares Claude Code parameters, annotations and the command as permission target', () => {
    expect(bashTool.name).toBe('Bash')
    expect(Object.keys(bashTool.inputSchema.properties as object)).toEqual([
      'command',
      'timeout',
      'description',
      'run_in_background',
    ])
    expect(bashTool.inputSchema.required).toEqual(['command'])
    expect(bashTool.annotations).toMatchObject({ readOnly: false, destructive: true, openWorld: true })
    expect(bashTool.permissionTarget?.({ command: 'npm test' })).toBe('npm test')
  })

  it('refuses a timeout over 10 minutes', async () => {
    await expect(bash('true', { timeout: 600_001 })).rejects.toThrow(/invalid input/)
    await expect(bash('true', { timeout: 600_000 })).resolves.toBeDefined()
  })

  it('runs in the workspace and keeps the working directory between calls', async () => {
    const first = await bash('mkdir -p sub/deeper && cd sub')
    expect(first.isError).toBeUndefined()
    expect(ws.state.get(BASH_CWD_KEY)).toBe(join(ws.root, 'sub'))
    expect(textOf(await bash('pwd')).trim()).toBe(join(ws.root, 'sub'))
    await bash('cd deeper')
    expect(textOf(await bash('pwd')).trim()).toBe(join(ws.root, 'sub', 'deeper'))
  })

  it('starts in the environment cwd when nothing is kept', async () => {
    expect(textOf(await bash('pwd')).trim()).toBe(ws.root)
  })

  it('keeps a cd made before the command exits with a status', async () => {
    const out = await bash('mkdir -p sub && cd sub && exit 3')
    expect(out.isError).toBe(true)
    expect(textOf(out)).toBe('Exit code 3')
    expect(textOf(await bash('pwd')).trim()).toBe(join(ws.root, 'sub'))
  })

  it('refuses a working directory outside the workspace and says so', async () => {
    await bash('mkdir -p sub && cd sub')
    const out = await bash('cd / && echo moved')
    expect(out.isError).toBeUndefined()
    expect(textOf(out)).toContain('moved')
    expect(textOf(out)).toMatch(/changed directory to \/, which is outside the workspace/)
    expect(ws.state.get(BASH_CWD_KEY)).toBe(join(ws.root, 'sub'))
    expect(textOf(await bash('pwd')).trim()).toBe(join(ws.root, 'sub'))
  })

  it('resets a kept directory that no longer exists', async () => {
    await bash('mkdir -p gone && cd gone')
    await bash(`rmdir ${JSON.stringify(join(ws.root, 'gone'))}`)
    const out = await bash('pwd')
    expect(textOf(out)).toContain(ws.root)
    expect(textOf(out)).toMatch(/no longer exists; it was reset/)
    expect(ws.state.get(BASH_CWD_KEY)).toBe(ws.root)
  })

  it('reports a non-zero exit code as an error result, and zero as success', async () => {
    const failed = await bash('echo before; exit 7')
    expect(failed.isError).toBe(true)
    // Claude Code's form: the code first, then the output.
    expect(textOf(failed)).toBe('Exit code 7\nbefore')
    expect(textOf(await bash('echo one; echo two >&2; exit 1'))).toBe('Exit code 1\none\ntwo')
    expect(failed.display).toMatchObject({ exitCode: 7 })

    const ok = await bash('printf abc')
    expect(ok.isError).toBeUndefined()
    expect(textOf(ok)).toBe('abc')
    expect(textOf(await bash('true'))).toBe('(no output)')
  })

  it('includes stderr, in order with stdout', async () => {
    const out = await bash('echo out1; echo err1 >&2; echo out2; ls /definitely-not-here')
    expect(out.isError).toBe(true)
    const text = textOf(out)
    expect(text).toMatch(/^Exit code \d+\nout1\nerr1\nout2\n.*definitely-not-here/)
  })

  it('reports a shell syntax error', async () => {
    const out = await bash('if then fi (')
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/syntax error/)
  })

  it('runs bash, not a bare POSIX sh', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    expect(textOf(await bash('[[ 1 == 1 ]] && echo "${BASH_VERSION:+bash}"')).trim()).toBe('bash')
  })

  it('gives the command an empty stdin, so reading it does not hang', async () => {
    // A generous bound: a stdin left open would hang until it; a loaded machine must not fail it.
    const out = await bash('cat; echo done', { timeout: HANG_LIMIT_MS })
    expect(out.isError).toBeUndefined()
    expect(textOf(out)).toBe('done')
  })

  it('never leaks the directory marker into output or progress', async () => {
    const out = await bash('for i in 1 2 3; do echo line$i; done')
    expect(textOf(out)).toBe('line1\nline2\nline3')
    expect(JSON.stringify(ws.progress)).not.toContain('__TAU_CWD_')
  })

  it('reports output lines as progress while running', async () => {
    await bash('echo first; sleep 0.4; echo second')
    const messages = ws.progress.map((p) => p.message).join('\n')
    expect(messages).toContain('first')
    expect(messages).toContain('second')
  })

  it('throttles progress reports', async () => {
    const tool = createBashTool({ progressIntervalMs: 10_000 })
    await ws.run(tool, { command: 'for i in $(seq 1 50); do echo $i; sleep 0.005; done' })
    // The first report goes out at once; the rest wait for an interval that never comes.
    expect(ws.progress.length).toBe(1)
  })

  it('cuts long output in the middle, with a note of what was left out', async () => {
    const out = await bash('seq 1 30000')
    const text = textOf(out)
    expect(text.length).toBeLessThan(31_000)
    expect(text.startsWith('1\n2\n3\n')).toBe(true)
    expect(text.endsWith('29999\n30000')).toBe(true)
    expect(text).not.toContain('\n15000\n')
    const note = /\[(\d+) characters \((\d+) lines\) omitted from the middle of the output\]/.exec(text)
    expect(note).not.toBeNull()
    // seq 1 30000 prints 168894 characters; what is shown plus what was left out is all of it.
    const shown = text.replace(/\n\.\.\. \[.*\] \.\.\.\n/, '')
    expect(shown.length + Number(note?.[1])).toBe(168_894 - 1)
    expect(out.display).toMatchObject({ truncated: true })
  })

  it('kills the whole process tree on timeout', async () => {
    // The timeout must strike after the shell wrote the child's pid, or there is nothing to check.
    // On a loaded machine the shell may not get that far in 500 ms: then the same run is tried
    // with a longer timeout (bounded), rather than failing on the missing pid file.
    for (const timeout of [500, 2_000, 8_000]) {
      await rm(join(ws.root, 'child.pid'), { force: true })
      const out = await bash('sleep 30 & echo $! > child.pid.tmp; mv child.pid.tmp child.pid; sleep 30', {
        timeout,
      })
      expect(out.isError).toBe(true)
      expect(textOf(out)).toMatch(
        new RegExp(`timed out after ${timeout} ms; it was killed with every process it started`),
      )
      expect(out.display).toMatchObject({ timedOut: true })
      if (!existsSync(join(ws.root, 'child.pid'))) continue
      await expectDead(await readPid('child.pid'))
      return
    }
    throw new Error('the shell never wrote child.pid before its timeout, even with 8 s')
  })

  it('kills the whole process tree on abort', async () => {
    const controller = new AbortController()
    const run = bash(
      '(sleep 30; echo never) & echo $! > child.pid; echo started; sleep 30',
      {},
      controller.signal,
    )
    // Wait for the child to be started (its pid written) before aborting.
    await until(() => ws.progress.some((p) => p.message.includes('started')), 'the command to start')
    controller.abort()
    const out = await run
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/cancelled; it was killed with every process it started/)
    expect(textOf(out)).not.toContain('never')
    await expectDead(await readPid('child.pid'))
  })

  it('does not start a command when the turn is already cancelled', async () => {
    const controller = new AbortController()
    controller.abort()
    const out = await bash('touch made', {}, controller.signal)
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/not started/)
    await expect(readFile(join(ws.root, 'made'))).rejects.toThrow()
  })

  it('does not pass secrets from the parent environment to the command', async () => {
    process.env.FAKE_API_KEY = 'sk-fake-secret-value'
    // The environment takes its allowlisted variables when it is made: make it after the secret is set.
    const secretWs = await createWorkspace()
    try {
      const out = await secretWs.run(bashTool, { command: 'echo "key=[$FAKE_API_KEY]"; env' })
      expect(textOf(out)).toContain('key=[]')
      expect(textOf(out)).toContain('PATH=')
      expect(textOf(out)).not.toContain('sk-fake-secret-value')
    } finally {
      delete process.env.FAKE_API_KEY
      await secretWs.dispose()
    }
  })
})

describe('Bash output helpers', () => {
  it('truncateMiddle leaves short text alone and keeps head and tail of long text', () => {
    expect(truncateMiddle('short', 100)).toEqual({ text: 'short', omittedChars: 0, omittedLines: 0 })
    const long = `${'a'.repeat(100)}MIDDLE${'z'.repeat(100)}`
    const cut = truncateMiddle(long, 50)
    expect(cut.text.startsWith('a'.repeat(25))).toBe(true)
    expect(cut.text.endsWith('z'.repeat(25))).toBe(true)
    expect(cut.text).not.toContain('MIDDLE')
    expect(cut.omittedChars).toBe(long.length - 50)
  })

  it('splitMarker keeps output printed after the marker and finds no cwd without it', () => {
    expect(splitMarker('out\n__M__/ws/sub\nlate\n', '__M__')).toEqual({
      output: 'out\nlate\n',
      cwd: '/ws/sub',
    })
    expect(splitMarker('no marker here', '__M__')).toEqual({ output: 'no marker here' })
  })
})
