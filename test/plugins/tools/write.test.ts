import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readTool } from '../../../plugins/tools/builtins/read.js'
import { writeTool } from '../../../plugins/tools/builtins/write.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

describe('Write', () => {
  it('creates a new file, with parent directories, content exactly as given', async () => {
    const result = await h.run(writeTool, { file_path: 'src/deep/new.txt', content: 'a\r\nb\nc' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('Created src/deep/new.txt (3 lines).')
    expect(await readFile(join(h.dir, 'src/deep/new.txt'), 'utf8')).toBe('a\r\nb\nc')
    expect(result.display).toMatchObject({ type: 'diff', created: true, added: 3, removed: 0 })
  })

  it('refuses to overwrite an existing file that was not read in this session', async () => {
    await writeFile(join(h.dir, 'existing.txt'), 'keep me\n')
    const result = await h.run(writeTool, { file_path: 'existing.txt', content: 'gone' })
    expect(result.isError).toBe(true)
    expect(result.text).toMatch(
      /existing\.txt already exists and has not been read in this session\. Read it first/,
    )
    expect(await readFile(join(h.dir, 'existing.txt'), 'utf8')).toBe('keep me\n')
  })

  it('overwrites a file after Read, keeping its mode, and diffs old against new', async () => {
    await writeFile(join(h.dir, 'run.sh'), '#!/bin/sh\necho old\n')
    await chmod(join(h.dir, 'run.sh'), 0o755)
    await h.run(readTool, { file_path: 'run.sh' })
    const result = await h.run(writeTool, { file_path: 'run.sh', content: '#!/bin/sh\necho new\n' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('Wrote run.sh (2 lines; +1 -1).')
    expect(await readFile(join(h.dir, 'run.sh'), 'utf8')).toBe('#!/bin/sh\necho new\n')
    expect((await stat(join(h.dir, 'run.sh'))).mode & 0o777).toBe(0o755)
    expect((result.display as { diff: string }).diff).toBe(
      '--- a/run.sh\n+++ b/run.sh\n@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo old\n+echo new\n',
    )
  })

  it('refuses a file that changed on disk since it was read, and allows it after reading again', async () => {
    const file = join(h.dir, 'shared.txt')
    await writeFile(file, 'v1\n')
    await h.run(readTool, { file_path: 'shared.txt' })
    await writeFile(file, 'v2 by someone else\n')
    const refused = await h.run(writeTool, { file_path: 'shared.txt', content: 'mine\n' })
    expect(refused.isError).toBe(true)
    expect(refused.text).toMatch(/changed on disk since it was read.*Read it again/)
    expect(await readFile(file, 'utf8')).toBe('v2 by someone else\n')

    // Same size, different time: still a change.
    await h.run(readTool, { file_path: 'shared.txt' })
    await writeFile(file, 'v3 by someone else\n')
    await utimes(file, new Date(), new Date(Date.now() + 5000))
    expect((await h.run(writeTool, { file_path: 'shared.txt', content: 'mine\n' })).isError).toBe(true)

    await h.run(readTool, { file_path: 'shared.txt' })
    expect((await h.run(writeTool, { file_path: 'shared.txt', content: 'mine\n' })).isError).toBeFalsy()
    expect(await readFile(file, 'utf8')).toBe('mine\n')
  })

  it('lets a file it wrote be written again without another Read', async () => {
    await h.run(writeTool, { file_path: 'x.txt', content: 'one\n' })
    const again = await h.run(writeTool, { file_path: 'x.txt', content: 'two\n' })
    expect(again.isError).toBeFalsy()
    expect(await readFile(join(h.dir, 'x.txt'), 'utf8')).toBe('two\n')
  })

  it('keeps a UTF-8 BOM the file had', async () => {
    await writeFile(join(h.dir, 'bom.txt'), Buffer.from('\ufeffold\n', 'utf8'))
    await h.run(readTool, { file_path: 'bom.txt' })
    await h.run(writeTool, { file_path: 'bom.txt', content: 'new\n' })
    expect([...(await readFile(join(h.dir, 'bom.txt')))]).toEqual([0xef, 0xbb, 0xbf, ...Buffer.from('new\n')])
  })

  it('refuses paths outside the workspace, symlinked parents included, and writes nothing there', async () => {
    const outside = await mkdtemp(join(h.dir, '..', 'tau-outside-'))
    try {
      await symlink(outside, join(h.dir, 'linked'))
      for (const file_path of ['linked/pwned.txt', '../pwned.txt', join(outside, 'pwned.txt')]) {
        const result = await h.run(writeTool, { file_path, content: 'x' })
        expect(result.isError, file_path).toBe(true)
        expect(result.text, file_path).toMatch(/outside the workspace/)
      }
      expect(await readdir(outside)).toEqual([])
    } finally {
      await rm(outside, { recursive: true, force: true })
    }
  })

  it('refuses to write a directory', async () => {
    await mkdir(join(h.dir, 'dir'))
    const result = await h.run(writeTool, { file_path: 'dir', content: 'x' })
    expect(result).toMatchObject({
      isError: true,
      text: '<tool_use_error>dir is a directory; name a file to write.</tool_use_error>',
    })
  })

  it('is destructive, for the edit permission kind, targeting the file path', () => {
    expect(writeTool.annotations).toMatchObject({ readOnly: false, destructive: true })
    expect(writeTool.access).toBe('edit')
    expect(writeTool.permissionTarget?.({ file_path: 'a.txt', content: '' })).toBe('a.txt')
  })
})
