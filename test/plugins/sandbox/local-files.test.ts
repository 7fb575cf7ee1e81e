import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { SYNC_READ_MAX_BYTES } from '../../../plugins/sandbox/opened-file.js'

let base: string
let root: string
let outside: string

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'tau-sandbox-files-')))
  root = join(base, 'root')
  outside = join(base, 'outside')
  await mkdir(root)
  await mkdir(outside)
  await writeFile(join(outside, 'secret.txt'), 'secret\n')
})

afterEach(async () => {
  await rm(base, { recursive: true, force: true })
})

describe('LocalEnvironment files', () => {
  it('writes atomically: creates parent dirs, leaves no temporary file, keeps an existing mode', async () => {
    const env = new LocalEnvironment({ cwd: root })
    await env.writeFile('a/b/new.sh', '#!/bin/sh\necho one\n')
    expect(await readFile(join(root, 'a/b/new.sh'), 'utf8')).toBe('#!/bin/sh\necho one\n')
    await chmod(join(root, 'a/b/new.sh'), 0o751)
    await env.writeFile('a/b/new.sh', Buffer.from('#!/bin/sh\necho two\n'))
    expect(await readFile(join(root, 'a/b/new.sh'), 'utf8')).toBe('#!/bin/sh\necho two\n')
    expect((await stat(join(root, 'a/b/new.sh'))).mode & 0o7777).toBe(0o751)
    expect(await readdir(join(root, 'a/b'))).toEqual(['new.sh'])
  })

  it('writes through a symlink inside the root to its target, keeping the link', async () => {
    await writeFile(join(root, 'target.txt'), 'old\n')
    await symlink(join(root, 'target.txt'), join(root, 'link.txt'))
    const env = new LocalEnvironment({ cwd: root })
    await env.writeFile('link.txt', 'new\n')
    expect(await readFile(join(root, 'target.txt'), 'utf8')).toBe('new\n')
    expect(await readlink(join(root, 'link.txt'))).toBe(join(root, 'target.txt'))
  })

  it('refuses to read or write through a symlink that points outside, and leaves the outside alone', async () => {
    await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'))
    await symlink(outside, join(root, 'leak-dir'))
    await symlink(join(outside, 'created.txt'), join(root, 'dangling.txt'))
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.readFile('leak.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.writeFile('leak.txt', 'pwned')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.writeFile('leak-dir/new.txt', 'pwned')).rejects.toMatchObject({
      kind: 'outside-workspace',
    })
    await expect(env.writeFile('dangling.txt', 'pwned')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.readdir('leak-dir')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.mkdir('leak-dir/sub')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.stat('../outside/secret.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret\n')
    expect((await readdir(outside)).sort()).toEqual(['secret.txt'])
  })

  it('maps filesystem errors to kinds', async () => {
    await mkdir(join(root, 'dir'))
    await writeFile(join(root, 'file.txt'), 'x')
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.readFile('missing.txt')).rejects.toMatchObject({
      name: 'EnvironmentError',
      kind: 'not-found',
      path: 'missing.txt',
    })
    await expect(env.readFile('dir')).rejects.toMatchObject({ kind: 'not-a-file' })
    await expect(env.writeFile('dir', 'x')).rejects.toMatchObject({ kind: 'not-a-file' })
    await expect(env.readdir('file.txt')).rejects.toMatchObject({ kind: 'not-a-directory' })
    await expect(env.stat('missing.txt')).rejects.toMatchObject({ kind: 'not-found' })
  })

  it('stats and lists with types', async () => {
    await mkdir(join(root, 'dir'))
    await writeFile(join(root, 'file.txt'), 'hello')
    await symlink(join(root, 'file.txt'), join(root, 'link'))
    const env = new LocalEnvironment({ cwd: root })
    const s = await env.stat('file.txt')
    expect(s).toMatchObject({ path: join(root, 'file.txt'), type: 'file', size: 5 })
    expect(s.mtimeMs).toBeGreaterThan(0)
    expect((await env.stat('dir')).type).toBe('directory')
    const entries = await env.readdir('.')
    expect(entries.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'dir', type: 'directory' },
      { name: 'file.txt', type: 'file' },
      { name: 'link', type: 'symlink' },
    ])
  })

  it('openFile: the stat and bytes of one open file, checked as stat and readFile check it', async () => {
    await mkdir(join(root, 'dir'))
    await writeFile(join(root, 'file.txt'), 'hello')
    await writeFile(join(root, 'private.txt'), 'KEY=1')
    await symlink(join(root, 'file.txt'), join(root, 'link'))
    await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'))
    await symlink(outside, join(root, 'leak-dir'))
    const env = new LocalEnvironment({
      cwd: root,
      policy: {
        filesystem: { allowWrite: [], denyWrite: [], denyRead: ['private.txt'] },
        network: { mode: 'none', allowedDomains: [], deniedDomains: [] },
      },
    })
    const opened = await env.openFile('link')
    try {
      expect(opened.stat).toMatchObject({ path: join(root, 'file.txt'), type: 'file', size: 5 })
      expect(opened.stat).toEqual(await env.stat('link'))
      expect((await opened.read()).toString('utf8')).toBe('hello')
    } finally {
      await opened.close()
    }
    const dir = await env.openFile('dir')
    expect(dir.stat.type).toBe('directory')
    await dir.close()
    await expect(env.openFile('missing.txt')).rejects.toMatchObject({
      kind: 'not-found',
      path: 'missing.txt',
    })
    await expect(env.openFile('leak.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.openFile('leak-dir/secret.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.openFile('../outside/secret.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
    await expect(env.openFile('private.txt')).rejects.toMatchObject({ kind: 'denied' })
    await expect(env.readFile('private.txt')).rejects.toMatchObject({ kind: 'denied' })
  })

  it('openFile: a file past the synchronous read size is read whole through the thread pool, as a small one', async () => {
    const big = Buffer.alloc(SYNC_READ_MAX_BYTES * 2 + 123)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251
    await writeFile(join(root, 'big.bin'), big)
    await writeFile(join(root, 'small.txt'), 'small\n')
    const env = new LocalEnvironment({ cwd: root })
    for (const [name, bytes] of [
      ['big.bin', big],
      ['small.txt', Buffer.from('small\n')],
    ] as const) {
      const opened = await env.openFile(name)
      try {
        expect(opened.stat.size).toBe(bytes.length)
        expect((await opened.read()).equals(bytes)).toBe(true)
      } finally {
        await opened.close()
        await opened.close() // idempotent
      }
    }
  })

  it('openFile: a file swapped for a link to the outside after the open is not what is read', async () => {
    await mkdir(join(root, 'docs'))
    await writeFile(join(root, 'docs', 'notes.txt'), 'inside\n')
    const env = new LocalEnvironment({ cwd: root })
    const opened = await env.openFile('docs/notes.txt')
    try {
      // The directory on the path replaced by a link to the outside, which holds a file of that name.
      await rm(join(root, 'docs'), { recursive: true })
      await writeFile(join(outside, 'notes.txt'), 'outside\n')
      await symlink(outside, join(root, 'docs'))
      expect((await opened.read()).toString('utf8')).toBe('inside\n')
    } finally {
      await opened.close()
    }
    await expect(env.openFile('docs/notes.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
  })

  it('removes a symlink itself, not its target, and refuses to remove a root', async () => {
    await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'))
    await mkdir(join(root, 'dir/sub'), { recursive: true })
    await writeFile(join(root, 'dir/sub/x'), 'x')
    const env = new LocalEnvironment({ cwd: root })
    await env.remove('leak.txt')
    expect(await readdir(root)).toEqual(['dir'])
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret\n')
    await env.remove('dir')
    expect(await readdir(root)).toEqual([])
    await expect(env.remove(root)).rejects.toMatchObject({ name: 'EnvironmentError' })
    await expect(env.remove('.')).rejects.toMatchObject({ kind: 'io' })
    const nested = new LocalEnvironment({ cwd: root, roots: [join(root, 'inner')] })
    await mkdir(join(root, 'inner'))
    await expect(nested.remove('inner')).rejects.toMatchObject({
      kind: 'io',
      message: expect.stringContaining('workspace root'),
    })
    expect((await stat(root)).isDirectory()).toBe(true)
    await expect(env.remove('../outside/secret.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
  })
})
