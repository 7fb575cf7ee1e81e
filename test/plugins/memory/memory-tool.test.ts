import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../../kernel/index.js'
import { createMemoryTool } from '../../../plugins/memory/index.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { toOutput } from '../../../plugins/tools/registry.js'
import type { ToolContext, ToolOutput } from '../../../plugins/tools/tool.js'

let root: string
let memDir: string
let env: LocalEnvironment
const tool = () => createMemoryTool({ dir: memDir })

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'tau-memtool-')))
  memDir = join(root, '.tau/memory')
  env = new LocalEnvironment({ cwd: root, killGraceMs: 200 })
})
afterEach(async () => {
  await env.dispose()
  await rm(root, { recursive: true, force: true })
})

async function call(input: unknown): Promise<{ out: ToolOutput; text: string }> {
  const t = tool()
  const checked = await t.input['~standard'].validate(input)
  if (checked.issues) throw new Error(`invalid input: ${JSON.stringify(checked.issues)}`)
  const ctx = {
    signal: new AbortController().signal,
    env,
    sessionId: 's',
    callId: 'c',
    state: { get: () => undefined, set: () => {} },
    progress: () => {},
    logger: createLogger('test', { level: 'silent' }),
    model: { vision: false },
  } satisfies ToolContext
  const out = toOutput(await t.execute(checked.value, ctx))
  return { out, text: out.content.map((p) => (p.type === 'text' ? p.text : '')).join('') }
}

describe('memory tool: Anthropic memory commands', () => {
  it('has the command parameters of the Anthropic memory tool', () => {
    const schema = JSON.stringify(tool().inputSchema)
    for (const key of [
      'view_range',
      'file_text',
      'old_str',
      'new_str',
      'insert_line',
      'insert_text',
      'old_path',
      'new_path',
    ]) {
      expect(schema).toContain(`"${key}"`)
    }
    for (const command of ['view', 'create', 'str_replace', 'insert', 'delete', 'rename'])
      expect(schema).toContain(`"${command}"`)
  })

  it('its schema is one object with no top-level oneOf/anyOf/allOf (the Anthropic API refuses those)', () => {
    const schema = tool().inputSchema as Record<string, unknown>
    expect(schema.type).toBe('object')
    for (const key of ['oneOf', 'anyOf', 'allOf']) expect(schema).not.toHaveProperty(key)
    expect(schema.required).toEqual(['command'])
  })

  it('create, view, str_replace, insert, rename, delete', async () => {
    let r = await call({
      command: 'create',
      path: '/memories/notes/project.md',
      file_text: 'one\ntwo\nthree\n',
    })
    expect(r.text).toBe('File created successfully at: /memories/notes/project.md')
    expect(await readFile(join(memDir, 'notes/project.md'), 'utf8')).toBe('one\ntwo\nthree\n')

    r = await call({ command: 'create', path: '/memories/notes/project.md', file_text: 'x' })
    expect(r.out.isError).toBe(true)
    expect(r.text).toContain('already exists')

    r = await call({ command: 'view', path: '/memories' })
    expect(r.text).toContain('/memories/notes/')
    expect(r.text).toContain('/memories/notes/project.md')

    r = await call({ command: 'view', path: '/memories/notes/project.md' })
    expect(r.text).toContain('     1\tone\n     2\ttwo\n     3\tthree')
    r = await call({ command: 'view', path: '/memories/notes/project.md', view_range: [2, 3] })
    expect(r.text).toContain('     2\ttwo\n     3\tthree')
    expect(r.text).not.toContain('\tone')
    r = await call({ command: 'view', path: '/memories/notes/project.md', view_range: [3, 9] })
    expect(r.out.isError).toBe(true)

    r = await call({
      command: 'str_replace',
      path: '/memories/notes/project.md',
      old_str: 'two',
      new_str: 'TWO',
    })
    expect(r.text).toContain('has been edited')
    expect(await readFile(join(memDir, 'notes/project.md'), 'utf8')).toBe('one\nTWO\nthree\n')
    r = await call({
      command: 'str_replace',
      path: '/memories/notes/project.md',
      old_str: 'nope',
      new_str: 'x',
    })
    expect(r.out.isError).toBe(true)
    expect(r.text).toContain('did not appear verbatim')
    await call({ command: 'create', path: 'dup.md', file_text: 'a\na\n' })
    r = await call({ command: 'str_replace', path: '/memories/dup.md', old_str: 'a', new_str: 'b' })
    expect(r.text).toContain('occurs 2 times')
    expect(r.text).toContain('lines 1, 2')

    r = await call({
      command: 'insert',
      path: '/memories/notes/project.md',
      insert_line: 0,
      insert_text: 'zero',
    })
    expect(r.out.isError).toBeUndefined()
    await call({
      command: 'insert',
      path: '/memories/notes/project.md',
      insert_line: 4,
      insert_text: 'four\n',
    })
    expect(await readFile(join(memDir, 'notes/project.md'), 'utf8')).toBe('zero\none\nTWO\nthree\nfour\n')
    r = await call({
      command: 'insert',
      path: '/memories/notes/project.md',
      insert_line: 99,
      insert_text: 'x',
    })
    expect(r.out.isError).toBe(true)
    expect(r.text).toContain('between 0 and 5')

    r = await call({ command: 'rename', old_path: '/memories/notes', new_path: '/memories/archive' })
    expect(r.text).toBe('Renamed /memories/notes to /memories/archive.')
    expect(existsSync(join(memDir, 'notes'))).toBe(false)
    expect(await readFile(join(memDir, 'archive/project.md'), 'utf8')).toContain('four')
    r = await call({
      command: 'rename',
      old_path: '/memories/dup.md',
      new_path: '/memories/archive/project.md',
    })
    expect(r.text).toContain('already exists')
    r = await call({ command: 'rename', old_path: '/memories/archive', new_path: '/memories/archive/inner' })
    expect(r.out.isError).toBe(true)

    r = await call({ command: 'delete', path: '/memories/archive' })
    expect(r.text).toBe('Deleted /memories/archive.')
    expect(existsSync(join(memDir, 'archive'))).toBe(false)
    r = await call({ command: 'delete', path: '/memories' })
    expect(r.out.isError).toBe(true)
    r = await call({ command: 'view', path: '/memories/missing.md' })
    expect(r.text).toContain('does not exist')
  })
})

describe('memory tool: confinement', () => {
  it('refuses traversal and absolute paths outside /memories', async () => {
    await writeFile(join(root, 'secret.txt'), 'secret')
    for (const path of [
      '/memories/../secret.txt',
      '../secret.txt',
      '/memories/a/../../secret.txt',
      '/etc/passwd',
      join(root, 'secret.txt'),
    ]) {
      const r = await call({ command: 'view', path })
      expect(r.out.isError, path).toBe(true)
      expect(r.text, path).toMatch(/refused|outside the memory directory/)
      expect(r.text).not.toContain('secret\n')
    }
    const w = await call({ command: 'create', path: '/memories/../../escape.md', file_text: 'x' })
    expect(w.out.isError).toBe(true)
    expect(existsSync(join(root, '..', 'escape.md'))).toBe(false)
    const mv = await call({ command: 'rename', old_path: '/memories/x', new_path: '../x' })
    expect(mv.out.isError).toBe(true)
  })

  it('refuses symlinks that lead out of the memory directory, inside the workspace or not', async () => {
    await mkdir(memDir, { recursive: true })
    await writeFile(join(root, 'project.txt'), 'workspace file')
    await symlink(join(root, 'project.txt'), join(memDir, 'link.md'))
    await symlink(root, join(memDir, 'up'))
    const outside = await realpath(await mkdtemp(join(tmpdir(), 'tau-memtool-out-')))
    try {
      await writeFile(join(outside, 'x.md'), 'outside')
      await symlink(outside, join(memDir, 'out'))
      for (const input of [
        { command: 'view', path: '/memories/link.md' },
        { command: 'view', path: '/memories/up/project.txt' },
        { command: 'str_replace', path: '/memories/link.md', old_str: 'workspace', new_str: 'x' },
        { command: 'create', path: '/memories/up/new.md', file_text: 'x' },
        { command: 'view', path: '/memories/out/x.md' },
        { command: 'create', path: '/memories/out/y.md', file_text: 'x' },
        { command: 'delete', path: '/memories/up/project.txt' },
      ]) {
        const r = await call(input)
        expect(r.out.isError, JSON.stringify(input)).toBe(true)
        expect(r.text).toContain('refused')
      }
      expect(await readFile(join(root, 'project.txt'), 'utf8')).toBe('workspace file')
      expect(existsSync(join(root, 'new.md'))).toBe(false)
      expect(existsSync(join(outside, 'y.md'))).toBe(false)
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
  })
})
