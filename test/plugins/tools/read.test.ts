import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalEnvironment } from '../../../plugins/sandbox/index.js'
import { createReadTool, readTool } from '../../../plugins/tools/builtins/read.js'
import { FILE_READS_KEY } from '../../../plugins/tools/file-reads.js'
import { createHarness, delegatingEnvironment, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

// A 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
)

describe('Read', () => {
  it('returns numbered lines like cat -n and records the read', async () => {
    await writeFile(join(h.dir, 'a.txt'), 'first\nsecond\n\tthird\n')
    const result = await h.run(readTool, { file_path: 'a.txt' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('     1\tfirst\n     2\tsecond\n     3\t\tthird')
    const seen = h.state.get<Map<string, unknown>>(FILE_READS_KEY)
    expect(seen?.has(join(h.dir, 'a.txt'))).toBe(true)
  })

  it('reads from offset for limit lines, and says where to go on', async () => {
    await writeFile(join(h.dir, 'long.txt'), Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n'))
    const result = await h.run(readTool, { file_path: join(h.dir, 'long.txt'), offset: 4, limit: 2 })
    expect(result.text).toContain('     4\tline 4\n     5\tline 5')
    expect(result.text).not.toContain('line 6')
    expect(result.text).toContain('Showing lines 4-5 of 10')
    expect(result.text).toContain('offset=6')
  })

  it('stops at the configured number of lines by default', async () => {
    await writeFile(join(h.dir, 'long.txt'), Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join('\n'))
    const result = await h.run(createReadTool({ maxLines: 3 }), { file_path: 'long.txt' })
    expect(result.text.split('\n').filter((l) => /^\s+\d+\t/.test(l))).toHaveLength(3)
    expect(result.text).toContain('Showing lines 1-3 of 10')
  })

  it('cuts long lines with a note', async () => {
    await writeFile(join(h.dir, 'wide.txt'), `${'x'.repeat(50)}\nshort\n`)
    const result = await h.run(createReadTool({ maxLineLength: 10 }), { file_path: 'wide.txt' })
    expect(result.text).toContain(`     1\t${'x'.repeat(10)} [... line cut: 50 characters in all]`)
    expect(result.text).toContain('     2\tshort')
    expect(result.text).toContain('1 line was longer than 10 characters and cut')
  })

  it('shows CRLF lines without the carriage return', async () => {
    await writeFile(join(h.dir, 'dos.txt'), 'one\r\ntwo\r\n')
    expect((await h.run(readTool, { file_path: 'dos.txt' })).text).toBe('     1\tone\n     2\ttwo')
  })

  it('says when a file is empty', async () => {
    await writeFile(join(h.dir, 'empty.txt'), '')
    const result = await h.run(readTool, { file_path: 'empty.txt' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('empty.txt is empty (0 bytes).')
  })

  it('refuses a directory with a hint to use LS or Glob', async () => {
    await mkdir(join(h.dir, 'src'))
    const result = await h.run(readTool, { file_path: 'src' })
    expect(result.isError).toBe(true)
    expect(result.text).toMatch(/src is a directory.*LS.*Glob/)
  })

  it('detects binary files and says so', async () => {
    await writeFile(join(h.dir, 'blob.bin'), Buffer.from([1, 2, 0, 3, 4]))
    const result = await h.run(readTool, { file_path: 'blob.bin' })
    expect(result.isError).toBe(true)
    expect(result.text).toContain('blob.bin is a binary file (5 bytes)')
  })

  it('returns images as image content when the model has vision, else a note', async () => {
    await writeFile(join(h.dir, 'pixel.png'), PNG)
    const seeing = await h.run(readTool, { file_path: 'pixel.png' }, { vision: true })
    expect(seeing.content).toEqual([{ type: 'image', mediaType: 'image/png', data: PNG.toString('base64') }])
    const blind = await h.run(readTool, { file_path: 'pixel.png' }, { vision: false })
    expect(blind.content).toHaveLength(1)
    expect(blind.text).toMatch(/pixel\.png is an image \(image\/png.*cannot see images/)
  })

  it('says when a file does not exist, and suggests a close name', async () => {
    await writeFile(join(h.dir, 'config.ts'), 'x')
    const result = await h.run(readTool, { file_path: 'config.js' })
    expect(result.isError).toBe(true)
    expect(result.text).toBe(
      '<tool_use_error>File does not exist: config.js. Did you mean "config.ts" in the same directory?</tool_use_error>',
    )
  })

  it('refuses an offset past the end', async () => {
    await writeFile(join(h.dir, 'a.txt'), 'one\ntwo\n')
    const result = await h.run(readTool, { file_path: 'a.txt', offset: 5 })
    expect(result).toMatchObject({
      isError: true,
      text: '<tool_use_error>a.txt has 2 lines; offset 5 is past the end.</tool_use_error>',
    })
  })

  it('refuses paths outside the workspace: `..`, absolute, and a symlink pointing out', async () => {
    await symlink('/etc/hostname', join(h.dir, 'escape'))
    for (const file_path of ['../../etc/passwd', '/etc/passwd', 'escape']) {
      const result = await h.run(readTool, { file_path })
      expect(result.isError, file_path).toBe(true)
      expect(result.text, file_path).toMatch(/outside the workspace/)
    }
  })

  it('is read-only, for the read permission kind, targeting the file path', () => {
    expect(readTool.name).toBe('Read')
    expect(readTool.annotations.readOnly).toBe(true)
    expect(readTool.access).toBe('read')
    expect(readTool.permissionTarget?.({ file_path: 'src/a.ts' })).toBe('src/a.ts')
    expect(Object.keys((readTool.inputSchema as { properties: object }).properties)).toEqual([
      'file_path',
      'offset',
      'limit',
    ])
  })

  it('resolves the path once where the environment opens files, and reads the same without openFile', async () => {
    class Counting extends LocalEnvironment {
      resolved = 0
      override resolvePath(path: string): Promise<string> {
        this.resolved++
        return super.resolvePath(path)
      }
    }
    let counting: Counting | undefined
    const opening = await createHarness({
      env: (dir) => {
        counting = new Counting({ cwd: dir })
        return counting
      },
    })
    const plain = await createHarness({
      env: (dir) => delegatingEnvironment(new LocalEnvironment({ cwd: dir })),
    })
    try {
      for (const harness of [opening, plain]) {
        await writeFile(join(harness.dir, 'a.txt'), 'one\ntwo\n')
        await mkdir(join(harness.dir, 'sub'))
      }
      const read = async (harness: Harness, path: string) =>
        (await harness.run(readTool, { file_path: path })).text
      expect(await read(opening, 'a.txt')).toBe('     1\tone\n     2\ttwo')
      expect(counting?.resolved).toBe(1)
      for (const path of ['a.txt', 'sub', 'missing.txt', '../x.txt']) {
        expect(await read(opening, path)).toBe((await read(plain, path)).replaceAll(plain.dir, opening.dir))
      }
    } finally {
      await opening.cleanup()
      await plain.cleanup()
    }
  })
})
