import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EnvironmentError } from '../../../plugins/sandbox/environment.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'

let base: string
let root: string
let outside: string

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'tau-sandbox-paths-')))
  root = join(base, 'root')
  outside = join(base, 'outside')
  await mkdir(join(root, 'src'), { recursive: true })
  await mkdir(outside)
  await writeFile(join(root, 'src', 'a.txt'), 'inside\n')
  await writeFile(join(outside, 'secret.txt'), 'secret\n')
})

afterEach(async () => {
  await rm(base, { recursive: true, force: true })
})

const outsideError = (path: string) =>
  expect.objectContaining({ name: 'EnvironmentError', kind: 'outside-workspace', path })

describe('LocalEnvironment.resolvePath', () => {
  it('resolves relative paths against cwd and absolute paths as given, inside the root', async () => {
    const env = new LocalEnvironment({ cwd: root })
    expect(env.roots).toEqual([root])
    expect(await env.resolvePath('src/a.txt')).toBe(join(root, 'src', 'a.txt'))
    expect(await env.resolvePath(join(root, 'src', 'a.txt'))).toBe(join(root, 'src', 'a.txt'))
    expect(await env.resolvePath('.')).toBe(root)
    expect(await env.resolvePath('src/../src/./a.txt')).toBe(join(root, 'src', 'a.txt'))
  })

  it('resolves a path that does not exist through its nearest existing parent', async () => {
    await symlink(join(root, 'src'), join(root, 'link-to-src'))
    const env = new LocalEnvironment({ cwd: root })
    expect(await env.resolvePath('new/deeper/file.ts')).toBe(join(root, 'new', 'deeper', 'file.ts'))
    expect(await env.resolvePath('link-to-src/new/file.ts')).toBe(join(root, 'src', 'new', 'file.ts'))
  })

  it('refuses `..` escapes and absolute paths elsewhere, naming the path and the roots', async () => {
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.resolvePath('../outside/secret.txt')).rejects.toEqual(
      outsideError('../outside/secret.txt'),
    )
    await expect(env.resolvePath('src/../../outside/new.txt')).rejects.toEqual(
      outsideError('src/../../outside/new.txt'),
    )
    await expect(env.resolvePath('/etc/passwd')).rejects.toEqual(outsideError('/etc/passwd'))
    const error = await env.resolvePath('/etc/passwd').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EnvironmentError)
    expect((error as Error).message).toContain('/etc/passwd')
    expect((error as Error).message).toContain(root)
  })

  it('refuses a sibling directory whose name starts with the root name', async () => {
    await mkdir(`${root}-other`)
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.resolvePath(`${root}-other/x`)).rejects.toEqual(outsideError(`${root}-other/x`))
  })

  it('refuses a symlink inside the root that points outside: for a file, a new file and a parent dir', async () => {
    await symlink(join(outside, 'secret.txt'), join(root, 'leak.txt'))
    await symlink(outside, join(root, 'leak-dir'))
    await symlink(join(outside, 'not-yet.txt'), join(root, 'dangling.txt'))
    const env = new LocalEnvironment({ cwd: root })
    const error = await env.resolvePath('leak.txt').catch((e: unknown) => e)
    expect(error).toEqual(outsideError('leak.txt'))
    expect((error as Error).message).toContain(join(outside, 'secret.txt'))
    await expect(env.resolvePath('leak-dir/secret.txt')).rejects.toEqual(outsideError('leak-dir/secret.txt'))
    await expect(env.resolvePath('leak-dir/new/file.txt')).rejects.toEqual(
      outsideError('leak-dir/new/file.txt'),
    )
    // A dangling link: writing through it would create the file outside.
    await expect(env.resolvePath('dangling.txt')).rejects.toEqual(outsideError('dangling.txt'))
  })

  it('follows `..` physically after a symlink, as the kernel does', async () => {
    // root/deep -> outside/a/b: root/deep/../secret.txt is outside/a/secret.txt, not root/secret.txt.
    await mkdir(join(outside, 'a', 'b'), { recursive: true })
    await symlink(join(outside, 'a', 'b'), join(root, 'deep'))
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.resolvePath('deep/../secret.txt')).rejects.toEqual(outsideError('deep/../secret.txt'))
  })

  it('allows symlinks that stay inside, and extra roots', async () => {
    await symlink(join(root, 'src', 'a.txt'), join(root, 'alias.txt'))
    const env = new LocalEnvironment({ cwd: join(root, 'src'), roots: [outside] })
    expect(env.cwd).toBe(join(root, 'src'))
    expect(env.roots).toEqual([join(root, 'src'), outside])
    expect(await env.resolvePath(join(outside, 'secret.txt'))).toBe(join(outside, 'secret.txt'))
    // root itself is not a root here (cwd is root/src), but a link out of src into src is fine.
    await writeFile(join(root, 'top.txt'), 'top\n')
    await expect(env.resolvePath('../top.txt')).rejects.toEqual(outsideError('../top.txt'))
    expect(await env.resolvePath('../alias.txt')).toBe(join(root, 'src', 'a.txt'))
    const wide = new LocalEnvironment({ cwd: root })
    expect(await wide.resolvePath('alias.txt')).toBe(join(root, 'src', 'a.txt'))
  })

  it('resolves the roots themselves to real paths', async () => {
    await symlink(root, join(base, 'root-link'))
    const env = new LocalEnvironment({ cwd: join(base, 'root-link'), roots: [join(base, 'missing', 'x')] })
    expect(env.cwd).toBe(root)
    expect(env.roots).toEqual([root, join(base, 'missing', 'x')])
    expect(await env.resolvePath(join(base, 'root-link', 'src', 'a.txt'))).toBe(join(root, 'src', 'a.txt'))
  })

  it('reports a symlink loop as an io error, not a crash', async () => {
    await symlink(join(root, 'loop-b'), join(root, 'loop-a'))
    await symlink(join(root, 'loop-a'), join(root, 'loop-b'))
    const env = new LocalEnvironment({ cwd: root })
    await expect(env.resolvePath('loop-a/x')).rejects.toMatchObject({ kind: 'io' })
  })

  it('contains() answers without throwing', async () => {
    await symlink(outside, join(root, 'leak-dir'))
    const env = new LocalEnvironment({ cwd: root })
    expect(await env.contains('src/a.txt')).toBe(true)
    expect(await env.contains('nope/new.txt')).toBe(true)
    expect(await env.contains('leak-dir/secret.txt')).toBe(false)
    expect(await env.contains('/etc')).toBe(false)
  })
})
