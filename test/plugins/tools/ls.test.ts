import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLsTool, lsTool } from '../../../plugins/tools/builtins/ls.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
  await mkdir(join(h.dir, 'src'))
  await mkdir(join(h.dir, 'dist'))
  await writeFile(join(h.dir, 'b.txt'), '')
  await writeFile(join(h.dir, 'a.txt'), '')
  await writeFile(join(h.dir, '.env'), '')
  await writeFile(join(h.dir, 'debug.log'), '')
  await symlink(join(h.dir, 'a.txt'), join(h.dir, 'alias'))
})
afterEach(async () => {
  await h.cleanup()
})

describe('LS', () => {
  it('lists entries sorted, directories with /, symlinks with @', async () => {
    const result = await h.run(lsTool, {})
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe(`${h.dir}/\n.env\na.txt\nalias@\nb.txt\ndebug.log\ndist/\nsrc/`)
  })

  it('leaves out entries matching ignore patterns', async () => {
    const result = await h.run(lsTool, { path: h.dir, ignore: ['*.log', 'dist/', '.*'] })
    expect(result.text).toBe(`${h.dir}/\na.txt\nalias@\nb.txt\nsrc/`)
  })

  it('caps the listing with a note', async () => {
    const result = await h.run(createLsTool({ limit: 2 }), { path: '.' })
    expect(result.text).toBe(`${h.dir}/\n.env\na.txt\n(5 more entries not listed; use Glob to narrow down)`)
  })

  it('says when a directory is empty', async () => {
    expect((await h.run(lsTool, { path: 'src' })).text).toBe(`${join(h.dir, 'src')}/\n(empty)`)
  })

  it('refuses a file, a missing path and paths outside the workspace', async () => {
    expect(await h.run(lsTool, { path: 'a.txt' })).toMatchObject({
      isError: true,
      text: '<tool_use_error>a.txt is not a directory. Use Read to read a file.</tool_use_error>',
    })
    expect((await h.run(lsTool, { path: 'missing' })).text).toMatch(/does not exist/)
    const outside = await h.run(lsTool, { path: '..' })
    expect(outside.isError).toBe(true)
    expect(outside.text).toMatch(/outside the workspace/)
  })

  it('is read-only with the search path as permission target', () => {
    expect(lsTool.annotations.readOnly).toBe(true)
    expect(lsTool.access).toBe('read')
    expect(lsTool.permissionTarget?.({ path: 'src' })).toBe('src')
    expect(lsTool.permissionTarget?.({})).toBe('.')
  })
})
