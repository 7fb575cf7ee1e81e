import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { multiEditTool } from '../../../plugins/tools/builtins/multi-edit.js'
import { readTool } from '../../../plugins/tools/builtins/read.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

describe('MultiEdit', () => {
  it('applies edits in order, each on the result of the one before', async () => {
    const file = join(h.dir, 'm.ts')
    await writeFile(file, 'let a = 1\nlet b = 2\n')
    await h.run(readTool, { file_path: 'm.ts' })
    const result = await h.run(multiEditTool, {
      file_path: 'm.ts',
      edits: [
        { old_string: 'let a = 1', new_string: 'let alpha = 1' },
        { old_string: 'alpha', new_string: 'first' },
        { old_string: 'let', new_string: 'const', replace_all: true },
      ],
    })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('Edited m.ts: 4 replacements from 3 edits.')
    expect(await readFile(file, 'utf8')).toBe('const first = 1\nconst b = 2\n')
    expect(result.display).toMatchObject({ type: 'diff', added: 2, removed: 2 })
  })

  it('is all or nothing: a failing edit leaves the file untouched and names the edit', async () => {
    const file = join(h.dir, 'm.ts')
    await writeFile(file, 'one\ntwo\ntwo\n')
    await h.run(readTool, { file_path: 'm.ts' })
    const notUnique = await h.run(multiEditTool, {
      file_path: 'm.ts',
      edits: [
        { old_string: 'one', new_string: 'ONE' },
        { old_string: 'two', new_string: 'TWO' },
      ],
    })
    expect(notUnique.isError).toBe(true)
    expect(notUnique.text).toMatch(
      /^<tool_use_error>Edit 2 of 2: old_string occurs 2 times.*No edits were applied/,
    )
    const missing = await h.run(multiEditTool, {
      file_path: 'm.ts',
      edits: [
        { old_string: 'one', new_string: 'ONE' },
        { old_string: 'three', new_string: 'x' },
      ],
    })
    expect(missing.text).toMatch(/^<tool_use_error>Edit 2 of 2: old_string was not found/)
    expect(await readFile(file, 'utf8')).toBe('one\ntwo\ntwo\n')
  })

  it('keeps the read-before-edit rule and CRLF endings', async () => {
    const file = join(h.dir, 'dos.txt')
    await writeFile(file, 'a\r\nb\r\n')
    const unread = await h.run(multiEditTool, {
      file_path: 'dos.txt',
      edits: [{ old_string: 'a', new_string: 'x' }],
    })
    expect(unread.text).toMatch(/has not been read/)
    await h.run(readTool, { file_path: 'dos.txt' })
    await h.run(multiEditTool, {
      file_path: 'dos.txt',
      edits: [
        { old_string: 'a\nb', new_string: 'a\nmiddle\nb' },
        { old_string: 'b', new_string: 'B' },
      ],
    })
    expect(await readFile(file, 'utf8')).toBe('a\r\nmiddle\r\nB\r\n')
  })

  it('creates a new file from a first edit with an empty old_string', async () => {
    const result = await h.run(multiEditTool, {
      file_path: 'fresh.txt',
      edits: [
        { old_string: '', new_string: 'hello world\n' },
        { old_string: 'world', new_string: 'there' },
      ],
    })
    expect(result.isError).toBeFalsy()
    expect(await readFile(join(h.dir, 'fresh.txt'), 'utf8')).toBe('hello there\n')
  })

  it('rejects an empty list of edits at the schema', async () => {
    await expect(h.run(multiEditTool, { file_path: 'x', edits: [] })).rejects.toThrow(/invalid input/)
  })
})
