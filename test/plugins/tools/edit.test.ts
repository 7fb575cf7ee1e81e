import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { editTool } from '../../../plugins/tools/builtins/edit.js'
import { readTool } from '../../../plugins/tools/builtins/read.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

async function seed(name: string, content: string | Buffer): Promise<string> {
  const file = join(h.dir, name)
  await writeFile(file, content)
  await h.run(readTool, { file_path: name })
  return file
}

describe('Edit', () => {
  it('replaces a unique string, returns a short result with the edited lines and a diff', async () => {
    const file = await seed('app.ts', 'const a = 1\nconst b = 2\nconst c = 3\n')
    const result = await h.run(editTool, {
      file_path: 'app.ts',
      old_string: 'const b = 2',
      new_string: 'const b = 20',
    })
    expect(result.isError).toBeFalsy()
    expect(await readFile(file, 'utf8')).toBe('const a = 1\nconst b = 20\nconst c = 3\n')
    expect(result.text).toContain('Edited app.ts: 1 replacement.')
    expect(result.text).toContain('     2\tconst b = 20')
    expect(result.display).toEqual({
      type: 'diff',
      path: file,
      created: false,
      added: 1,
      removed: 1,
      diff: '--- a/app.ts\n+++ b/app.ts\n@@ -1,3 +1,3 @@\n const a = 1\n-const b = 2\n+const b = 20\n const c = 3\n',
    })
  })

  it('refuses a string that is not unique, saying how many and what to do; replace_all replaces all', async () => {
    const file = await seed('dup.ts', 'x = 1\nx = 1\nx = 1\n')
    const refused = await h.run(editTool, { file_path: 'dup.ts', old_string: 'x = 1', new_string: 'x = 2' })
    expect(refused.isError).toBe(true)
    expect(refused.text).toMatch(/occurs 3 times.*more of the surrounding lines.*replace_all/)
    expect(await readFile(file, 'utf8')).toBe('x = 1\nx = 1\nx = 1\n')
    const all = await h.run(editTool, {
      file_path: 'dup.ts',
      old_string: 'x = 1',
      new_string: 'x = $&2',
      replace_all: true,
    })
    expect(all.text).toContain('3 replacements')
    // Replacement text is literal: no $& patterns.
    expect(await readFile(file, 'utf8')).toBe('x = $&2\nx = $&2\nx = $&2\n')
  })

  it('refuses a missing string with a hint, and old_string equal to new_string', async () => {
    await seed('a.ts', '  indented line\n')
    const missing = await h.run(editTool, { file_path: 'a.ts', old_string: 'nowhere', new_string: 'x' })
    expect(missing).toMatchObject({ isError: true })
    expect(missing.text).toMatch(/old_string was not found in the file\..*copy the text exactly/)
    const spaced = await h.run(editTool, {
      file_path: 'a.ts',
      old_string: 'indented   line',
      new_string: 'x',
    })
    expect(spaced.text).toMatch(/different whitespace or indentation/)
    const numbered = await h.run(editTool, {
      file_path: 'a.ts',
      old_string: '     1\t  indented line',
      new_string: 'x',
    })
    expect(numbered.text).toMatch(/line-number prefix/)
    const same = await h.run(editTool, { file_path: 'a.ts', old_string: 'indented', new_string: 'indented' })
    expect(same).toMatchObject({ isError: true })
    expect(same.text).toMatch(/old_string and new_string are the same/)
  })

  it('keeps CRLF line endings, matching old_string written with \\n', async () => {
    const file = await seed('dos.txt', 'one\r\ntwo\r\nthree\r\n')
    const result = await h.run(editTool, {
      file_path: 'dos.txt',
      old_string: 'one\ntwo\n',
      new_string: 'one\nTWO\nextra\n',
    })
    expect(result.isError).toBeFalsy()
    expect(await readFile(file, 'utf8')).toBe('one\r\nTWO\r\nextra\r\nthree\r\n')
  })

  it('keeps the encoding: a UTF-8 BOM, UTF-16LE, and bytes that are not UTF-8', async () => {
    const bom = await seed('bom.txt', Buffer.from('\ufeffhello world\n', 'utf8'))
    await h.run(editTool, { file_path: 'bom.txt', old_string: 'world', new_string: 'there' })
    expect(await readFile(bom)).toEqual(Buffer.from('\ufeffhello there\n', 'utf8'))

    const utf16 = await seed(
      'wide.txt',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('héllo\r\n', 'utf16le')]),
    )
    await h.run(editTool, { file_path: 'wide.txt', old_string: 'héllo', new_string: 'hällo' })
    expect(await readFile(utf16)).toEqual(
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hällo\r\n', 'utf16le')]),
    )

    // Latin-1 bytes (0xe9 = é) survive an edit elsewhere in the file.
    const latin = await seed('latin.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x78, 0x0a]))
    await h.run(editTool, { file_path: 'latin.txt', old_string: 'x', new_string: 'y' })
    expect([...(await readFile(latin))]).toEqual([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x79, 0x0a])
  })

  it('refuses a file that was not read, or changed since', async () => {
    await writeFile(join(h.dir, 'unread.ts'), 'a\n')
    const unread = await h.run(editTool, { file_path: 'unread.ts', old_string: 'a', new_string: 'b' })
    expect(unread.isError).toBe(true)
    expect(unread.text).toMatch(/has not been read in this session/)

    const file = await seed('changed.ts', 'a\n')
    await writeFile(file, 'a\nb\n')
    const changed = await h.run(editTool, { file_path: 'changed.ts', old_string: 'a', new_string: 'c' })
    expect(changed.isError).toBe(true)
    expect(changed.text).toMatch(/changed on disk since it was read/)
    expect(await readFile(file, 'utf8')).toBe('a\nb\n')
  })

  it('allows consecutive edits without reading again', async () => {
    const file = await seed('seq.ts', 'a b c\n')
    await h.run(editTool, { file_path: 'seq.ts', old_string: 'a', new_string: 'A' })
    const second = await h.run(editTool, { file_path: 'seq.ts', old_string: 'b', new_string: 'B' })
    expect(second.isError).toBeFalsy()
    expect(await readFile(file, 'utf8')).toBe('A B c\n')
  })

  it('creates a missing file when old_string is empty, and refuses a missing file otherwise', async () => {
    const created = await h.run(editTool, {
      file_path: 'new/file.ts',
      old_string: '',
      new_string: 'export {}\n',
    })
    expect(created.isError).toBeFalsy()
    expect(created.text).toBe('Created new/file.ts.')
    expect(await readFile(join(h.dir, 'new/file.ts'), 'utf8')).toBe('export {}\n')
    const missing = await h.run(editTool, { file_path: 'nope.ts', old_string: 'a', new_string: 'b' })
    expect(missing).toMatchObject({ isError: true })
    expect(missing.text).toMatch(/File does not exist: nope\.ts/)
  })

  it('refuses binary files and paths outside the workspace', async () => {
    await seed('blob.bin', Buffer.from([0x61, 0, 0x62]))
    const binary = await h.run(editTool, { file_path: 'blob.bin', old_string: 'a', new_string: 'b' })
    expect(binary.text).toMatch(/binary file/)
    const outside = await h.run(editTool, { file_path: '/etc/hostname', old_string: 'a', new_string: 'b' })
    expect(outside).toMatchObject({ isError: true })
    expect(outside.text).toMatch(/outside the workspace/)
  })

  it('has Claude Code parameters, is destructive, for the edit permission kind', () => {
    expect(Object.keys((editTool.inputSchema as { properties: object }).properties)).toEqual([
      'file_path',
      'old_string',
      'new_string',
      'replace_all',
    ])
    expect(editTool.annotations.destructive).toBe(true)
    expect(editTool.access).toBe('edit')
    expect(editTool.permissionTarget?.({ file_path: 'x', old_string: 'a', new_string: 'b' })).toBe('x')
  })
})
