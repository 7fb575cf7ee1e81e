import { mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { createGlobTool, globTool, splitPattern } from '../../../plugins/tools/builtins/glob.js'
import { createHarness, delegatingEnvironment, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

/** Writes files with modification times `age` seconds in the past. */
async function files(spec: Record<string, number>): Promise<void> {
  const now = Date.now() / 1000
  for (const [name, age] of Object.entries(spec)) {
    const file = join(h.dir, name)
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, name)
    await utimes(file, now - age, now - age)
  }
}

describe('Glob', () => {
  it('finds files by pattern, newest first', async () => {
    await files({
      'src/old.ts': 300,
      'src/new.ts': 10,
      'src/mid.ts': 100,
      'src/deep/x.ts': 50,
      'README.md': 1,
    })
    const result = await h.run(globTool, { pattern: '**/*.ts' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('src/new.ts\nsrc/deep/x.ts\nsrc/mid.ts\nsrc/old.ts')
    expect((await h.run(globTool, { pattern: '*.ts', path: 'src' })).text).toBe(
      'src/new.ts\nsrc/mid.ts\nsrc/old.ts',
    )
    expect((await h.run(globTool, { pattern: 'src/**/*.{ts,md}' })).text.split('\n')).toHaveLength(4)
  })

  it('respects .gitignore, nested ones and negations, and never lists .git', async () => {
    await files({
      'keep.js': 1,
      'build/out.js': 1,
      'node_modules/pkg/index.js': 1,
      'logs/a.log': 1,
      'logs/keep.log': 1,
      'pkg/src/a.js': 1,
      'pkg/src/generated.js': 1,
      '.git/hooks/pre-commit.js': 1,
    })
    await writeFile(join(h.dir, '.gitignore'), 'node_modules/\nbuild\n*.log\n!keep.log\n')
    await writeFile(join(h.dir, 'pkg', '.gitignore'), 'generated.js\n')
    const result = await h.run(globTool, { pattern: '**/*' })
    const listed = result.text.split('\n').sort()
    expect(listed).toEqual(['.gitignore', 'keep.js', 'logs/keep.log', 'pkg/.gitignore', 'pkg/src/a.js'])
  })

  it('applies the .gitignore of a parent directory when searching below it', async () => {
    await files({ 'sub/a.js': 1, 'sub/dist/b.js': 1 })
    await writeFile(join(h.dir, '.gitignore'), 'dist/\n')
    expect((await h.run(globTool, { pattern: '**/*.js', path: 'sub' })).text).toBe('sub/a.js')
  })

  it('works through any environment, not only the local one', async () => {
    const generic = await createHarness({
      env: (dir) => delegatingEnvironment(new LocalEnvironment({ cwd: dir })),
    })
    try {
      await mkdir(join(generic.dir, 'gen'))
      await writeFile(join(generic.dir, '.gitignore'), 'gen/\n')
      await writeFile(join(generic.dir, 'gen', 'x.ts'), '')
      await writeFile(join(generic.dir, 'old.ts'), '')
      await utimes(join(generic.dir, 'old.ts'), 1000, 1000)
      await writeFile(join(generic.dir, 'new.ts'), '')
      expect((await generic.run(globTool, { pattern: '**/*.ts' })).text).toBe('new.ts\nold.ts')
    } finally {
      await generic.cleanup()
    }
  })

  it('caps the list with a note', async () => {
    await files({ 'a.txt': 3, 'b.txt': 2, 'c.txt': 1 })
    const result = await h.run(createGlobTool({ limit: 2 }), { pattern: '*.txt' })
    expect(result.text).toBe(
      'c.txt\nb.txt\n(Showing the 2 most recently modified of 3 matching files. Use a narrower pattern or path to see the others.)',
    )
  })

  it('says when nothing matches', async () => {
    expect(await h.run(globTool, { pattern: '**/*.rs' })).toMatchObject({
      text: 'No files match **/*.rs in ..',
    })
  })

  it('does not follow symlinks out of the workspace, and refuses patterns and paths that leave it', async () => {
    const outside = join(h.dir, '..', `${h.dir.split('/').pop()}-outside`)
    await mkdir(outside, { recursive: true })
    try {
      await writeFile(join(outside, 'secret.ts'), '')
      await symlink(outside, join(h.dir, 'linked'))
      await files({ 'in.ts': 1 })
      expect((await h.run(globTool, { pattern: '**/*.ts' })).text).toBe('in.ts')
      for (const input of [
        { pattern: '../**/*.ts' },
        { pattern: `${outside}/*.ts` },
        { pattern: '*.ts', path: '..' },
        { pattern: '*.ts', path: 'linked' },
      ]) {
        const result = await h.run(globTool, input)
        expect(result.isError, JSON.stringify(input)).toBe(true)
        expect(result.text).toMatch(/outside the workspace/)
      }
      expect((await h.run(globTool, { pattern: 'src/**/../../*' })).isError).toBe(true)
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
  })

  it('accepts an absolute pattern inside the workspace', async () => {
    await files({ 'src/a.ts': 1 })
    expect((await h.run(globTool, { pattern: `${h.dir}/src/*.ts` })).text).toBe('src/a.ts')
  })

  it('splits the fixed leading directories off a pattern', () => {
    expect(splitPattern('src/lib/**/*.ts')).toEqual({ base: 'src/lib', rest: '**/*.ts' })
    expect(splitPattern('**/*.ts')).toEqual({ base: '', rest: '**/*.ts' })
    expect(splitPattern('/abs/dir/*.ts')).toEqual({ base: '/abs/dir', rest: '*.ts' })
    expect(splitPattern('a.ts')).toEqual({ base: '', rest: 'a.ts' })
    expect(splitPattern('src/{a,b/c}/*.ts')).toEqual({ base: 'src', rest: '{a,b/c}/*.ts' })
  })

  it('is read-only with Claude Code parameters', () => {
    expect(Object.keys((globTool.inputSchema as { properties: object }).properties)).toEqual([
      'pattern',
      'path',
    ])
    expect(globTool.annotations.readOnly).toBe(true)
    expect(globTool.access).toBe('read')
    expect(globTool.permissionTarget?.({ pattern: '*', path: 'src' })).toBe('src')
    expect(globTool.permissionTarget?.({ pattern: 'secret/**/*.key' })).toBe('secret')
    expect(globTool.permissionTarget?.({ pattern: 'b/*.ts', path: 'a' })).toBe('a/b')
    expect(globTool.permissionTarget?.({ pattern: '/abs/dir/*.ts' })).toBe('/abs/dir')
    expect(globTool.permissionTarget?.({ pattern: '**/*.ts' })).toBe('.')
  })
})
