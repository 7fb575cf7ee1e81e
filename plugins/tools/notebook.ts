/**
 * Jupyter notebooks (.ipynb, nbformat 4): parsing, showing cells to the model (Read), and the
 * edits NotebookEdit makes. The JSON is kept as it was (unknown fields, metadata, outputs of
 * other cells) and written back with the notebook's own indentation.
 */
import { randomBytes } from 'node:crypto'

export interface NotebookCell {
  cell_type: string
  id?: string
  source: string | string[]
  metadata?: Record<string, unknown>
  outputs?: unknown[]
  execution_count?: number | null
  [key: string]: unknown
}

export interface Notebook {
  cells: NotebookCell[]
  nbformat?: number
  nbformat_minor?: number
  metadata?: Record<string, unknown>
  [key: string]: unknown
}

/** Parses a notebook, or says what is wrong with it. */
export function parseNotebook(text: string): { notebook: Notebook; indent: number } | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { error: `it is not valid JSON (${error instanceof Error ? error.message : String(error)})` }
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as Notebook).cells)) {
    return { error: 'it has no "cells" array (not a Jupyter notebook in nbformat 4)' }
  }
  const cells = (value as Notebook).cells
  for (const [index, cell] of cells.entries()) {
    if (typeof cell !== 'object' || cell === null || typeof cell.cell_type !== 'string') {
      return { error: `cell ${index} has no cell_type` }
    }
  }
  // Jupyter writes one space of indentation; keep whatever the file uses.
  const indent = /^\{\r?\n( +)"/.exec(text)?.[1]?.length ?? 1
  return { notebook: value as Notebook, indent }
}

export function serializeNotebook(notebook: Notebook, indent: number): string {
  return `${JSON.stringify(notebook, null, indent)}\n`
}

export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '')
}

/** Source as Jupyter stores it: lines, each but the last keeping its newline. */
export function toSourceLines(source: string): string[] {
  if (source === '') return []
  return source.match(/[^\n]*\n|[^\n]+$/g) ?? []
}

/** How a cell is named to the model: its id, else `cell-N` (its index). */
export function cellLabel(cell: NotebookCell, index: number): string {
  return typeof cell.id === 'string' && cell.id !== '' ? cell.id : `cell-${index}`
}

/** The index of the cell a `cell_id` names (an id, or `cell-N` / `N` for the index), or -1. */
export function findCell(notebook: Notebook, cellId: string): number {
  const byId = notebook.cells.findIndex((cell) => cell.id === cellId)
  if (byId >= 0) return byId
  const index = /^(?:cell-)?(\d+)$/.exec(cellId)?.[1]
  if (index !== undefined && Number(index) < notebook.cells.length) return Number(index)
  return -1
}

/** A new cell id when the notebook's format has them (nbformat 4.5 and later, or cells that carry one). */
export function newCellId(notebook: Notebook): string | undefined {
  const usesIds =
    (notebook.nbformat ?? 0) > 4 ||
    ((notebook.nbformat ?? 0) === 4 && (notebook.nbformat_minor ?? 0) >= 5) ||
    notebook.cells.some((cell) => typeof cell.id === 'string')
  if (!usesIds) return undefined
  const taken = new Set(notebook.cells.map((cell) => cell.id))
  for (;;) {
    const id = randomBytes(4).toString('hex')
    if (!taken.has(id)) return id
  }
}

const MAX_OUTPUT_CHARS = 2_000

/** A notebook as the model reads it: each cell with its id, type and source, then its text outputs. */
export function renderNotebook(notebook: Notebook): string {
  const language =
    ((notebook.metadata?.language_info as { name?: unknown } | undefined)?.name as string | undefined) ??
    'python'
  if (notebook.cells.length === 0) return 'The notebook has no cells.'
  return notebook.cells
    .map((cell, index) => {
      const head = `<cell id="${cellLabel(cell, index)}" type="${cell.cell_type}"${cell.cell_type === 'code' ? ` language="${language}"` : ''}>`
      const parts = [head, cellSource(cell)]
      const outputs = renderOutputs(cell)
      if (outputs) parts.push(`<outputs>\n${outputs}\n</outputs>`)
      parts.push('</cell>')
      return parts.join('\n')
    })
    .join('\n\n')
}

function renderOutputs(cell: NotebookCell): string {
  if (!Array.isArray(cell.outputs) || cell.outputs.length === 0) return ''
  const texts: string[] = []
  for (const output of cell.outputs as Array<Record<string, unknown>>) {
    const kind = output.output_type
    if (kind === 'stream') texts.push(joinText(output.text))
    else if (kind === 'error') texts.push(`${String(output.ename)}: ${String(output.evalue)}`)
    else if (kind === 'execute_result' || kind === 'display_data') {
      const data = (output.data ?? {}) as Record<string, unknown>
      if (data['text/plain'] !== undefined) texts.push(joinText(data['text/plain']))
      const images = Object.keys(data).filter((type) => type.startsWith('image/'))
      if (images.length > 0) texts.push(`[${images.join(', ')} output not shown]`)
    }
  }
  let text = texts.join('\n').replace(/\n+$/, '')
  if (text.length > MAX_OUTPUT_CHARS) {
    text = `${text.slice(0, MAX_OUTPUT_CHARS)}\n[... output cut: ${text.length} characters in all]`
  }
  return text
}

function joinText(value: unknown): string {
  return Array.isArray(value) ? value.join('') : String(value ?? '')
}
