/**
 * The editor's files and terminals behind the session's environment: the client is asked only
 * after tau's own environment (a real LocalEnvironment on a temp dir) let the path through its
 * workspace fence and sandbox policy. The client side here is an in-process recorder standing in
 * for the editor (test/e2e/acp.test.ts drives the real protocol with the SDK's client).
 */
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  ClientEnvironment,
  type ClientSide,
  type TerminalRun,
} from '../../../plugins/acp/client-environment.js'
import { type Environment, LocalEnvironment } from '../../../plugins/sandbox/index.js'

let root: string
let dir: string
let outside: string

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'tau-acp-env-')))
  dir = join(root, 'project')
  outside = join(root, 'outside')
  await mkdir(dir)
  await mkdir(outside)
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

function recorder() {
  const asked: string[] = []
  const buffers = new Map<string, string>()
  const runs: TerminalRun[] = []
  const client: Required<ClientSide> = {
    async readTextFile(path) {
      asked.push(`read ${path}`)
      return buffers.get(path) ?? 'from the editor'
    },
    async writeTextFile(path, content) {
      asked.push(`write ${path}`)
      buffers.set(path, content)
    },
    async runInTerminal(run) {
      runs.push(run)
      return { output: 'terminal says hi\n', exitStatus: { exitCode: 3 }, timedOut: false, aborted: false }
    },
  }
  return { asked, buffers, runs, client }
}

function local(policy?: ConstructorParameters<typeof LocalEnvironment>[0]['policy']): LocalEnvironment {
  return new LocalEnvironment({ cwd: dir, ...(policy ? { policy } : {}) })
}

const policy = (filesystem: { denyRead?: string[]; denyWrite?: string[] }) => ({
  filesystem: { allowWrite: [], denyWrite: filesystem.denyWrite ?? [], denyRead: filesystem.denyRead ?? [] },
  network: { mode: 'none' as const, allowedDomains: [], deniedDomains: [] },
})

describe('ClientEnvironment', () => {
  it("reads a text file from the editor's buffer, a binary file from disk", async () => {
    await writeFile(join(dir, 'a.txt'), 'on disk')
    await writeFile(join(dir, 'image.bin'), Buffer.from([0x89, 0x50, 0x00, 0xff]))
    const { asked, client } = recorder()
    const env = new ClientEnvironment(local(), client)
    expect((await env.readFile('a.txt')).toString()).toBe('from the editor')
    expect(await env.readFile('image.bin')).toEqual(Buffer.from([0x89, 0x50, 0x00, 0xff]))
    expect(asked).toEqual([`read ${join(dir, 'a.txt')}`])
  })

  it('never asks the editor about a path outside the workspace, also through a symlink', async () => {
    await writeFile(join(outside, 'secret.txt'), 'secret')
    await symlink(outside, join(dir, 'link'))
    const { asked, client } = recorder()
    const env = new ClientEnvironment(local(), client)
    await expect(env.readFile(join(outside, 'secret.txt'))).rejects.toMatchObject({
      kind: 'outside-workspace',
    })
    await expect(env.readFile('link/secret.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.writeFile('link/new.txt', 'x')).rejects.toMatchObject({ kind: 'outside-workspace' })
    expect(asked).toEqual([])
  })

  it('keeps the sandbox policy: denied reads and protected writes never reach the editor', async () => {
    await writeFile(join(dir, 'secret.txt'), 'hidden')
    await mkdir(join(dir, '.git', 'hooks'), { recursive: true })
    await mkdir(join(dir, 'locked'))
    const { asked, client } = recorder()
    const env = new ClientEnvironment(
      local(policy({ denyRead: ['secret.txt'], denyWrite: ['locked'] })),
      client,
    )
    await expect(env.readFile('secret.txt')).rejects.toMatchObject({ kind: 'denied' })
    await expect(env.writeFile('secret.txt', 'x')).rejects.toMatchObject({ kind: 'denied' })
    await expect(env.writeFile('locked/a.txt', 'x')).rejects.toMatchObject({ kind: 'denied' })
    await expect(env.writeFile('.git/hooks/pre-commit', 'x')).rejects.toMatchObject({ kind: 'denied' })
    expect(asked).toEqual([])
  })

  it("passes the policy's denyRead on, so searches on the host's disk keep it", async () => {
    await writeFile(join(dir, 'secret.txt'), 'hidden')
    await writeFile(join(dir, 'open.txt'), 'shown')
    const env = new ClientEnvironment(local(policy({ denyRead: ['secret.txt'] })), recorder().client)
    expect(env.capabilities.filesOnHost).toBe(true)
    expect(env.readDenied?.(join(dir, 'secret.txt'))).toBe(true)
    expect(env.readDenied?.(join(dir, 'open.txt'))).toBe(false)
  })

  it('writes text to the editor (its folder made first) and leaves the disk alone', async () => {
    const { asked, buffers, client } = recorder()
    const env = new ClientEnvironment(local(), client)
    await env.writeFile('src/new.ts', 'export {}\n')
    expect(asked).toEqual([`write ${join(dir, 'src', 'new.ts')}`])
    expect(buffers.get(join(dir, 'src', 'new.ts'))).toBe('export {}\n')
    expect((await env.stat('src')).type).toBe('directory')
    await expect(readFile(join(dir, 'src', 'new.ts'))).rejects.toMatchObject({ code: 'ENOENT' })
    // Bytes that are not text stay on disk.
    await env.writeFile('blob.bin', Buffer.from([0, 1, 2]))
    expect(await readFile(join(dir, 'blob.bin'))).toEqual(Buffer.from([0, 1, 2]))
    expect(asked).toHaveLength(1)
  })

  it('fails closed: an environment that cannot check access writes itself', async () => {
    const base = local()
    const withoutCheck: Environment = Object.create(base, { checkAccess: { value: undefined } })
    const { asked, client } = recorder()
    const env = new ClientEnvironment(withoutCheck, client)
    await env.writeFile('plain.txt', 'on disk')
    expect(await readFile(join(dir, 'plain.txt'), 'utf8')).toBe('on disk')
    expect(asked).toEqual([])
  })

  it("runs a command in the editor's terminal, unless it needs stdin", async () => {
    const { runs, client } = recorder()
    const env = new ClientEnvironment(local(), client)
    const seen: string[] = []
    const result = await env.exec('echo hi', { timeoutMs: 5_000, onOutput: (chunk) => seen.push(chunk) })
    expect(runs).toEqual([
      { command: '/bin/sh', args: ['-c', 'echo hi'], cwd: dir, env: {}, timeoutMs: 5_000, signal: undefined },
    ])
    expect(result).toMatchObject({
      exitCode: 3,
      stdout: 'terminal says hi\n',
      timedOut: false,
      aborted: false,
    })
    expect(seen).toEqual(['terminal says hi\n'])
    await expect(env.exec('cat', { input: 'fed' })).resolves.toMatchObject({ stdout: 'fed', exitCode: 0 })
    expect(runs).toHaveLength(1)
    await expect(env.exec('true', { cwd: outside })).rejects.toMatchObject({ kind: 'outside-workspace' })
    await env.dispose()
  })
})
