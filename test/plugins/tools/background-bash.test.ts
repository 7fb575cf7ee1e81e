import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bashOutputTool, killShellTool } from '../../../plugins/tools/builtins/background-shells.js'
import { createBashTool } from '../../../plugins/tools/builtins/bash.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.env.dispose()
  await h.cleanup()
})

const bash = createBashTool({ maxOutputChars: 400 })

/** Polls BashOutput until its text satisfies `done`, gathering every read's output. */
async function readUntil(id: string, done: (all: string, last: string) => boolean, filter?: string) {
  const deadline = Date.now() + HANG_LIMIT_MS
  let all = ''
  for (;;) {
    const result = await h.run(bashOutputTool, { bash_id: id, ...(filter ? { filter } : {}) })
    const output = /<output>\n?([\s\S]*?)\n?<\/output>/.exec(result.text)?.[1] ?? ''
    if (output !== '(no new output)') all += `${output}\n`
    if (done(all, result.text)) return { all, last: result }
    if (Date.now() > deadline) throw new Error(`BashOutput never got there; last: ${result.text}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('Bash run_in_background, BashOutput, KillShell', () => {
  it('returns at once with a shell id; BashOutput gives new output only, then the status and exit code', async () => {
    await import('node:fs/promises').then((fs) => fs.writeFile(join(h.dir, 'go'), ''))
    const started = await h.run(bash, {
      command: 'echo first; while [ -e go ]; do sleep 0.05; done; echo second; exit 3',
      run_in_background: true,
    })
    expect(started.isError).toBeFalsy()
    expect(started.text).toMatch(/^Started in the background as shell bash_1\./)
    expect(started.structured).toMatchObject({ backgroundTaskId: 'bash_1' })

    const first = await readUntil('bash_1', (all) => all.includes('first'))
    expect(first.last.text).toContain('<status>running</status>')
    const again = await h.run(bashOutputTool, { bash_id: 'bash_1' })
    expect(again.text).toBe('<status>running</status>\n<output>(no new output)</output>')

    await import('node:fs/promises').then((fs) => fs.rm(join(h.dir, 'go')))
    const end = await readUntil('bash_1', (_all, last) => last.includes('<status>failed</status>'))
    expect(end.all).toContain('second')
    expect(end.all).not.toContain('first')
    expect(end.last.text).toContain('<exit_code>3</exit_code>')
  })

  it('filter keeps only matching lines; a bad regex is a clear error', async () => {
    await h.run(bash, { command: 'printf "ok 1\\nerror: a\\nok 2\\nerror: b\\n"', run_in_background: true })
    const result = await readUntil('bash_1', (_all, last) => last.includes('completed'), '^error')
    expect(result.all.trim()).toBe('error: a\nerror: b')
    expect(result.last.text).toContain('<exit_code>0</exit_code>')
    const bad = await h.run(bashOutputTool, { bash_id: 'bash_1', filter: '(' })
    expect(bad.isError).toBe(true)
    expect(bad.text).toMatch(/^<tool_use_error>filter is not a valid regular expression/)
  })

  it('KillShell ends the whole process tree', async () => {
    await h.run(bash, {
      command: 'sleep 300 & echo $! > child.pid; echo $$ > shell.pid; wait',
      run_in_background: true,
    })
    await waitFor(
      () => existsSync(join(h.dir, 'child.pid')) && existsSync(join(h.dir, 'shell.pid')),
      'pid files',
    )
    await waitFor(async () => (await readFile(join(h.dir, 'child.pid'), 'utf8')).trim() !== '', 'child pid')
    const child = Number((await readFile(join(h.dir, 'child.pid'), 'utf8')).trim())
    expect(pidAlive(child)).toBe(true)
    const killed = await h.run(killShellTool, { shell_id: 'bash_1' })
    expect(killed.isError).toBeFalsy()
    expect(killed.text).toMatch(/^Killed shell bash_1/)
    await waitFor(() => !pidAlive(child), 'the child to die')
    const status = await h.run(bashOutputTool, { bash_id: 'bash_1' })
    expect(status.text).toContain('<status>killed</status>')
    const twice = await h.run(killShellTool, { shell_id: 'bash_1' })
    expect(twice.isError).toBe(true)
    expect(twice.text).toBe('<tool_use_error>Shell bash_1 is not running (it was killed).</tool_use_error>')
  })

  it('background shells die when the session environment is disposed', async () => {
    await h.run(bash, { command: 'echo $$ > shell.pid; exec sleep 300', run_in_background: true })
    await waitFor(async () => existsSync(join(h.dir, 'shell.pid')), 'pid file')
    await waitFor(async () => (await readFile(join(h.dir, 'shell.pid'), 'utf8')).trim() !== '', 'pid')
    const pid = Number((await readFile(join(h.dir, 'shell.pid'), 'utf8')).trim())
    expect(pidAlive(pid)).toBe(true)
    await h.env.dispose()
    await waitFor(() => !pidAlive(pid), 'the shell to die with the environment')
  })

  it('caps unread output, keeping the head and the tail', async () => {
    await h.run(bash, {
      command: 'echo START; for i in $(seq 1 2000); do echo line-$i; done; echo THE-END; touch written',
      run_in_background: true,
    })
    // The cap is per read: read only once everything is written, or a busy machine splits the
    // output over several reads that each keep a head and a tail.
    await waitFor(() => existsSync(join(h.dir, 'written')), 'the command to write all its output')
    const result = await readUntil('bash_1', (_all, last) => last.includes('completed'))
    expect(result.all).toContain('START')
    expect(result.all).toContain('THE-END')
    expect(result.all).toMatch(/\[\d+ characters omitted from the middle of the output\]/)
    expect(result.all.length).toBeLessThan(1000)
  })

  it('names the known shells for an unknown id', async () => {
    const none = await h.run(bashOutputTool, { bash_id: 'bash_9' })
    expect(none.isError).toBe(true)
    expect(none.text).toBe(
      '<tool_use_error>There is no background shell "bash_9" in this session. Start one with Bash and run_in_background: true.</tool_use_error>',
    )
    await h.run(bash, { command: 'true', run_in_background: true })
    const other = await h.run(killShellTool, { shell_id: 'x' })
    expect(other.text).toBe(
      '<tool_use_error>There is no background shell "x" in this session. Shells: bash_1.</tool_use_error>',
    )
  })

  it('uses the same permission target as a foreground command', () => {
    expect(bash.permissionTarget?.({ command: 'npm run dev', run_in_background: true })).toBe('npm run dev')
  })
})
