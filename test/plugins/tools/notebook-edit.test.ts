import { readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { notebookEditTool } from '../../../plugins/tools/builtins/notebook-edit.js'
import { readTool } from '../../../plugins/tools/builtins/read.js'
import { createHarness, type Harness } from './tool-harness.js'

let h: Harness
beforeEach(async () => {
  h = await createHarness()
})
afterEach(async () => {
  await h.cleanup()
})

/** A notebook as Jupyter writes it: nbformat 4.5, one-space indentation, cell ids, outputs. */
function notebook(): object {
  return {
    cells: [
      { cell_type: 'markdown', id: 'intro', metadata: {}, source: ['# Title\n', 'Some text'] },
      {
        cell_type: 'code',
        id: 'calc',
        metadata: { tags: ['keep'] },
        execution_count: 3,
        outputs: [{ output_type: 'stream', name: 'stdout', text: ['42\n'] }],
        source: ['x = 6 * 7\n', 'print(x)'],
      },
    ],
    metadata: { kernelspec: { name: 'python3' }, language_info: { name: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  }
}

async function writeNotebook(name = 'nb.ipynb', value: object = notebook()): Promise<string> {
  await writeFile(join(h.dir, name), `${JSON.stringify(value, null, 1)}\n`)
  return name
}

async function load(name = 'nb.ipynb'): Promise<{ cells: Array<Record<string, unknown>> }> {
  return JSON.parse(await readFile(join(h.dir, name), 'utf8'))
}

describe('Read of a notebook', () => {
  it('shows each cell with its id, type and source, and text outputs', async () => {
    await writeNotebook()
    const result = await h.run(readTool, { file_path: 'nb.ipynb' })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe(
      [
        '<cell id="intro" type="markdown">\n# Title\nSome text\n</cell>',
        '<cell id="calc" type="code" language="python">\nx = 6 * 7\nprint(x)\n<outputs>\n42\n</outputs>\n</cell>',
      ].join('\n\n'),
    )
    expect(result.structured).toMatchObject({
      type: 'notebook',
      file: { cells: [{ id: 'intro' }, { id: 'calc' }] },
    })
  })
})

describe('NotebookEdit', () => {
  it('replaces a code cell, clearing its outputs, keeping everything else and the indentation', async () => {
    await writeNotebook()
    await h.run(readTool, { file_path: 'nb.ipynb' })
    const result = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'calc',
      new_source: 'y = 1\nprint(y)\n',
    })
    expect(result.isError).toBeFalsy()
    expect(result.text).toBe('Replaced the source of cell calc in nb.ipynb.')
    const raw = await readFile(join(h.dir, 'nb.ipynb'), 'utf8')
    expect(raw.startsWith('{\n "cells": [')).toBe(true)
    const after = await load()
    expect(after.cells[1]).toEqual({
      cell_type: 'code',
      id: 'calc',
      metadata: { tags: ['keep'] },
      execution_count: null,
      outputs: [],
      source: ['y = 1\n', 'print(y)\n'],
    })
    expect(after.cells[0]).toEqual((notebook() as { cells: unknown[] }).cells[0])
  })

  it('inserts after a cell (or at the start) with a new id, and requires cell_type', async () => {
    await writeNotebook()
    await h.run(readTool, { file_path: 'nb.ipynb' })
    const missing = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'intro',
      new_source: 'z',
      edit_mode: 'insert',
    })
    expect(missing.isError).toBe(true)
    expect(missing.text).toBe(
      '<tool_use_error>cell_type (code or markdown) is required to insert a cell.</tool_use_error>',
    )

    const after = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'intro',
      new_source: 'import os',
      cell_type: 'code',
      edit_mode: 'insert',
    })
    expect(after.isError).toBeFalsy()
    const start = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      new_source: 'Top',
      cell_type: 'markdown',
      edit_mode: 'insert',
    })
    expect(start.text).toMatch(/^Inserted markdown cell [0-9a-f]{8} at the start of nb\.ipynb\.$/)
    const cells = (await load()).cells
    expect(cells.map((cell) => cell.cell_type)).toEqual(['markdown', 'markdown', 'code', 'code'])
    expect(cells[2]).toMatchObject({ source: ['import os'], outputs: [], execution_count: null })
    expect(cells[0]!.id).toMatch(/^[0-9a-f]{8}$/)
    expect(new Set(cells.map((cell) => cell.id)).size).toBe(4)
  })

  it('deletes a cell; cells without ids are named cell-N', async () => {
    const old = notebook() as { cells: Array<Record<string, unknown>>; nbformat_minor: number }
    for (const cell of old.cells) delete cell.id
    old.nbformat_minor = 4
    await writeNotebook('old.ipynb', old)
    const read = await h.run(readTool, { file_path: 'old.ipynb' })
    expect(read.text).toContain('<cell id="cell-1" type="code"')
    const result = await h.run(notebookEditTool, {
      notebook_path: 'old.ipynb',
      cell_id: 'cell-0',
      new_source: '',
      edit_mode: 'delete',
    })
    expect(result.text).toBe('Deleted cell cell-0 from old.ipynb (1 cell left).')
    const cells = (await load('old.ipynb')).cells
    expect(cells).toHaveLength(1)
    expect(cells[0]!.cell_type).toBe('code')
    expect(cells[0]!.id).toBeUndefined()
  })

  it('names the known cells when cell_id matches none, and leaves the file alone', async () => {
    await writeNotebook()
    await h.run(readTool, { file_path: 'nb.ipynb' })
    const before = await readFile(join(h.dir, 'nb.ipynb'), 'utf8')
    const result = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'nope',
      new_source: 'x',
    })
    expect(result.isError).toBe(true)
    expect(result.text).toBe(
      '<tool_use_error>nb.ipynb has no cell "nope". Its cells: intro, calc.</tool_use_error>',
    )
    expect(await readFile(join(h.dir, 'nb.ipynb'), 'utf8')).toBe(before)
  })

  it('refuses a notebook not read in this session, or changed since', async () => {
    await writeNotebook()
    const unread = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'calc',
      new_source: 'x',
    })
    expect(unread.isError).toBe(true)
    expect(unread.text).toMatch(/has not been read in this session\. Read it first/)
    await h.run(readTool, { file_path: 'nb.ipynb' })
    await writeNotebook('nb.ipynb', { ...notebook(), metadata: { changed: 'by someone else, longer' } })
    const changed = await h.run(notebookEditTool, {
      notebook_path: 'nb.ipynb',
      cell_id: 'calc',
      new_source: 'x',
    })
    expect(changed.isError).toBe(true)
    expect(changed.text).toMatch(/has changed on disk since it was read/)
  })

  it('refuses paths outside the workspace, symlinks included, and files that are not notebooks', async () => {
    const outside = await h.run(notebookEditTool, {
      notebook_path: '/tmp/x.ipynb',
      cell_id: 'a',
      new_source: 'x',
    })
    expect(outside.isError).toBe(true)
    expect(outside.text).toMatch(/Only files inside the workspace can be used\.<\/tool_use_error>$/)
    await symlink('/etc', join(h.dir, 'etc-link'))
    const viaLink = await h.run(notebookEditTool, {
      notebook_path: 'etc-link/x.ipynb',
      cell_id: 'a',
      new_source: 'x',
    })
    expect(viaLink.isError).toBe(true)
    expect(viaLink.text).toMatch(/outside/)
    await writeFile(join(h.dir, 'a.py'), 'print(1)\n')
    const notNotebook = await h.run(notebookEditTool, {
      notebook_path: 'a.py',
      cell_id: '0',
      new_source: 'x',
    })
    expect(notNotebook.text).toBe(
      '<tool_use_error>a.py is not a Jupyter notebook (.ipynb). Use Edit or Write for other files.</tool_use_error>',
    )
    await writeFile(join(h.dir, 'bad.ipynb'), '{"cells": 3}')
    await h.run(readTool, { file_path: 'bad.ipynb' })
    const bad = await h.run(notebookEditTool, { notebook_path: 'bad.ipynb', cell_id: '0', new_source: 'x' })
    expect(bad.text).toBe(
      '<tool_use_error>bad.ipynb cannot be edited: it has no "cells" array (not a Jupyter notebook in nbformat 4).</tool_use_error>',
    )
  })

  it('is an edit-access tool whose permission target is the notebook path', () => {
    expect(notebookEditTool.access).toBe('edit')
    expect(notebookEditTool.permissionTarget?.({ notebook_path: 'a/b.ipynb', new_source: '' })).toBe(
      'a/b.ipynb',
    )
  })
})
