/**
 * NotebookEdit: replaces, inserts or deletes one cell of a Jupyter notebook. The same rules as
 * Write and Edit hold: the path must be inside the workspace, the notebook must have been read in
 * this session and not changed since, the write is atomic, and `Edit(...)` rules apply (access
 * `edit`).
 */
import { z } from 'zod'
import { recordWritten, writeRefusal } from '../file-reads.js'
import {
  cellLabel,
  cellSource,
  findCell,
  type NotebookCell,
  newCellId,
  parseNotebook,
  serializeNotebook,
  toSourceLines,
} from '../notebook.js'
import { defineTool } from '../registry.js'
import { decodeText, encodeText } from '../text-file.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { builtJsonSchema } from './defaults.js'

export interface NotebookEditInput {
  notebook_path: string
  cell_id?: string | undefined
  new_source: string
  cell_type?: 'code' | 'markdown' | undefined
  edit_mode?: 'replace' | 'insert' | 'delete' | undefined
}

const DESCRIPTION = `Changes one cell of a Jupyter notebook (.ipynb).

- notebook_path is an absolute path, or relative to the working directory. Read the notebook first: Read shows each cell with its id.
- cell_id names the cell: its id as Read shows it (cells without an id are shown as cell-N, N counting from 0).
- edit_mode replace (the default) puts new_source in the cell; a code cell's outputs and execution count are cleared.
- edit_mode insert adds a new cell after cell_id (at the start when cell_id is left out); cell_type is then required.
- edit_mode delete removes the cell (new_source is ignored).
- cell_type changes the cell's type on replace.`

export const notebookEditTool: Tool<NotebookEditInput> = defineTool({
  name: 'NotebookEdit',
  jsonSchema: builtJsonSchema('NotebookEdit'),
  description: DESCRIPTION,
  input: z.object({
    notebook_path: z
      .string()
      .min(1)
      .describe('The notebook to edit: an absolute path, or relative to the working directory'),
    cell_id: z
      .string()
      .optional()
      .describe('The cell to edit; with insert, the cell the new one goes after (the start when left out)'),
    new_source: z.string().describe('The new source of the cell'),
    cell_type: z
      .enum(['code', 'markdown'])
      .optional()
      .describe('The type of the cell; required with insert, default: the current type'),
    edit_mode: z
      .enum(['replace', 'insert', 'delete'])
      .optional()
      .describe('replace (default), insert or delete'),
  }),
  annotations: { readOnly: false, destructive: true },
  access: 'edit',
  permissionTarget: (call) => call.notebook_path,
  execute: async (call, ctx) => {
    try {
      return await editNotebook(call, ctx)
    } catch (error) {
      return failure(error)
    }
  },
})

async function editNotebook(call: NotebookEditInput, ctx: ToolContext): Promise<ToolOutput> {
  const path = await ctx.env.resolvePath(call.notebook_path)
  const shown = displayPath(ctx.env, path)
  if (!path.toLowerCase().endsWith('.ipynb')) {
    return errorOutput(`${shown} is not a Jupyter notebook (.ipynb). Use Edit or Write for other files.`)
  }
  const stat = await ctx.env.stat(path)
  if (stat.type !== 'file') return errorOutput(`${shown} is not a regular file.`)
  const refusal = writeRefusal(ctx.state, stat, shown)
  if (refusal) return errorOutput(refusal)
  const decoded = decodeText(await ctx.env.readFile(path))
  const parsed = parseNotebook(decoded.text)
  if ('error' in parsed) return errorOutput(`${shown} cannot be edited: ${parsed.error}.`)
  const { notebook, indent } = parsed
  const mode = call.edit_mode ?? 'replace'

  let index = -1
  if (call.cell_id !== undefined && call.cell_id !== '') {
    index = findCell(notebook, call.cell_id)
    if (index < 0) {
      const known = notebook.cells.map((cell, i) => cellLabel(cell, i))
      return errorOutput(
        `${shown} has no cell ${JSON.stringify(call.cell_id)}. Its cells: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
      )
    }
  } else if (mode !== 'insert') {
    return errorOutput(`cell_id is required to ${mode} a cell (Read the notebook to see the cell ids).`)
  }

  let summary: string
  let cellShown: string
  let cellType: string
  if (mode === 'insert') {
    if (call.cell_type === undefined) {
      return errorOutput('cell_type (code or markdown) is required to insert a cell.')
    }
    const cell: NotebookCell = { cell_type: call.cell_type, source: [] }
    const id = newCellId(notebook)
    if (id !== undefined) cell.id = id
    cell.metadata = {}
    if (call.cell_type === 'code') {
      cell.execution_count = null
      cell.outputs = []
    }
    cell.source = toSourceLines(call.new_source)
    notebook.cells.splice(index + 1, 0, cell)
    cellShown = cellLabel(cell, index + 1)
    cellType = call.cell_type
    summary = `Inserted ${call.cell_type} cell ${cellShown} ${index < 0 ? 'at the start' : `after cell ${cellLabel(notebook.cells[index]!, index)}`} of ${shown}.`
  } else if (mode === 'delete') {
    const [removed] = notebook.cells.splice(index, 1)
    cellShown = cellLabel(removed!, index)
    cellType = removed!.cell_type
    summary = `Deleted cell ${cellShown} from ${shown} (${notebook.cells.length} cell${notebook.cells.length === 1 ? '' : 's'} left).`
  } else {
    const cell = notebook.cells[index]!
    const before = cellSource(cell)
    cell.source = toSourceLines(call.new_source)
    if (call.cell_type !== undefined && call.cell_type !== cell.cell_type) {
      cell.cell_type = call.cell_type
      if (call.cell_type === 'markdown') {
        delete cell.outputs
        delete cell.execution_count
      }
    }
    if (cell.cell_type === 'code') {
      // The old outputs belong to the old source.
      cell.outputs = []
      cell.execution_count = null
    }
    cellShown = cellLabel(cell, index)
    cellType = cell.cell_type
    summary =
      before === call.new_source
        ? `Cell ${cellShown} of ${shown} already had this source; it was written unchanged.`
        : `Replaced the source of cell ${cellShown} in ${shown}.`
  }

  if (ctx.signal.aborted) return errorOutput('Cancelled before writing.')
  await ctx.env.writeFile(path, encodeText(serializeNotebook(notebook, indent), decoded.encoding))
  await recordWritten(ctx, path)
  return {
    content: [{ type: 'text', text: summary }],
    // Claude Code's NotebookEdit result shape (hooks' tool_response, -p's tool_use_result).
    structured: {
      new_source: call.new_source,
      cell_id: cellShown,
      cell_type: cellType,
      language: (notebook.metadata?.language_info as { name?: string } | undefined)?.name ?? 'python',
      edit_mode: mode,
      error: '',
    },
    display: { path, editMode: mode, cellId: cellShown },
  }
}
