import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'

let root: string

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'tau-sandbox-exec-')))
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Alive and not a zombie (PID 1 here may not reap orphans). */
function alive(pid: number): boolean {
  const file = `/proc/${pid}/stat`
  if (!existsSync(file)) {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  try {
    const state = readFileSync(file, 'utf8').replace(/^.*\) /s, '')[0]
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

const pidsOf = (text: string) =>
  text
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(Number)

/** Two background sleeps and a foreground one; prints the background pids first. */
const TREE = 'sleep 30 & echo $!; sleep 30 & echo $!; sleep 30'

describe('LocalEnvironment.exec', () => {
  it('runs a shell command in cwd, with exit code, stdout, stderr and stdin', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const result = await env.exec('pwd; echo err >&2; cat; exit 3', { input: 'from stdin' })
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: `${root}\nfrom stdin`,
      stderr: 'err\n',
      timedOut: false,
      aborted: false,
    })
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('gives a command stdin EOF when there is no input', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const result = await env.exec('cat; echo done')
    expect(result.stdout).toBe('done\n')
  })

  it('streams output through onOutput as it arrives', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const chunks: Array<[string, string]> = []
    const result = await env.exec('echo one; sleep 0.2; echo two >&2', {
      onOutput: (chunk, stream) => chunks.push([stream, chunk]),
    })
    expect(chunks).toEqual([
      ['stdout', 'one\n'],
      ['stderr', 'two\n'],
    ])
    expect(result.stdout).toBe('one\n')
  })

  it('runs in a cwd inside the workspace and refuses one outside', async () => {
    await mkdir(join(root, 'sub'))
    const env = new LocalEnvironment({ cwd: root })
    expect((await env.exec('pwd', { cwd: 'sub' })).stdout).toBe(`${join(root, 'sub')}\n`)
    await expect(env.exec('pwd', { cwd: '/' })).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.exec('pwd', { cwd: 'missing' })).rejects.toMatchObject({ kind: 'not-found' })
  })

  it('passes an allowlisted environment: no secrets from the parent, configured extras and fixed values', async () => {
    const env = new LocalEnvironment({
      cwd: root,
      parentEnv: {
        PATH: process.env.PATH,
        HOME: '/home/someone',
        LC_ALL: 'C',
        OPENAI_API_KEY: 'sk-parent-secret',
        GITHUB_TOKEN: 'ghp_parent_secret',
        NODE_AUTH_TOKEN: 'npm-secret',
        NODE_ENV: 'test',
        AWS_REGION: 'eu-west-1',
        AWS_SECRET_ACCESS_KEY: 'aws-secret',
        NPM_TOKEN: 'explicitly-allowed',
        RANDOM_VAR: 'not allowed',
      },
      envAllow: ['AWS_*', 'NPM_TOKEN'],
      envSet: { CI: '1' },
    })
    const { stdout } = await env.exec('env', { env: { PER_CALL: 'yes' } })
    const seen = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    )
    expect(seen).toMatchObject({
      HOME: '/home/someone',
      LC_ALL: 'C',
      NODE_ENV: 'test',
      AWS_REGION: 'eu-west-1',
      NPM_TOKEN: 'explicitly-allowed',
      CI: '1',
      PER_CALL: 'yes',
    })
    expect(stdout).not.toContain('secret')
    for (const name of [
      'OPENAI_API_KEY',
      'GITHUB_TOKEN',
      'NODE_AUTH_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'RANDOM_VAR',
    ])
      expect(seen).not.toHaveProperty(name)
    expect(env.processEnv()).not.toHaveProperty('OPENAI_API_KEY')
  })

  it('does not hand the real process environment through: a secret set in process.env stays out', async () => {
    process.env.TAU_TEST_SECRET_TOKEN = 'do-not-leak-this'
    try {
      const env = new LocalEnvironment({ cwd: root })
      const { stdout } = await env.exec('env')
      expect(stdout).not.toContain('do-not-leak-this')
      expect(stdout).toContain('PATH=')
    } finally {
      delete process.env.TAU_TEST_SECRET_TOKEN
    }
  })

  it('on timeout kills the whole process group, background children included', async () => {
    const env = new LocalEnvironment({ cwd: root, killGraceMs: 1000 })
    const result = await env.exec(TREE, { timeoutMs: 300 })
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' })
    const pids = pidsOf(result.stdout)
    expect(pids).toHaveLength(2)
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false)
  })

  it('on abort kills the whole process group, and returns at once', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const controller = new AbortController()
    const pids: number[] = []
    const run = env.exec(TREE, {
      signal: controller.signal,
      onOutput: (chunk) => {
        pids.push(...pidsOf(chunk))
        if (pids.length === 2) controller.abort()
      },
    })
    const result = await run
    // (The tree sleeps far longer than the test may run: the run returning at all is the abort.)
    expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null })
    expect(pids).toHaveLength(2)
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false)
  })

  it('sends SIGKILL after the grace period to a group that ignores SIGTERM', async () => {
    const env = new LocalEnvironment({ cwd: root, killGraceMs: 200 })
    const result = await env.exec("trap '' TERM; sleep 30 & echo $!; sleep 30", { timeoutMs: 200 })
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' })
    for (const pid of pidsOf(result.stdout)) expect(alive(pid)).toBe(false)
  })

  it('returns at once for an already aborted signal without running anything', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const result = await env.exec(`touch ${join(root, 'ran')}`, { signal: AbortSignal.abort() })
    expect(result).toMatchObject({ aborted: true, exitCode: null })
    expect(existsSync(join(root, 'ran'))).toBe(false)
  })

  it('does not wait for a background job that keeps the output open after the shell exits', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const result = await env.exec('sleep 30 & echo $!; echo started')
    expect(result).toMatchObject({ exitCode: 0, timedOut: false })
    expect(result.stdout).toContain('started\n')
    // The background sleep outlives the test's time limit: returning at all means exec did not wait.
    for (const pid of pidsOf(result.stdout)) expect(alive(pid)).toBe(true)
    for (const pid of pidsOf(result.stdout)) process.kill(pid, 'SIGKILL')
  })

  it('dispose() ends running commands with their groups', async () => {
    const env = new LocalEnvironment({ cwd: root })
    const pids: number[] = []
    const run = env.exec(TREE, { onOutput: (chunk) => pids.push(...pidsOf(chunk)) })
    while (pids.length < 2) await new Promise((r) => setTimeout(r, 20))
    await env.dispose()
    const result = await run
    expect(result.signal).toBe('SIGTERM')
    for (const pid of pids) expect(alive(pid)).toBe(false)
  })

  it('keeps the head and tail of very long output', async () => {
    const env = new LocalEnvironment({ cwd: root, maxOutputChars: 1000 })
    const result = await env.exec(
      'echo START; i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo END',
    )
    expect(result.stdout.startsWith('START\n')).toBe(true)
    expect(result.stdout.endsWith('END\n')).toBe(true)
    expect(result.stdout).toMatch(/characters of output omitted/)
    expect(result.stdout.length).toBeLessThan(1200)
  })
})
