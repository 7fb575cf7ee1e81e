/**
 * Read: a file's lines, numbered as `cat -n` numbers them (number, tab, text), from `offset` for
 * `limit` lines. Images come back as image content for models that can see; directories, binary
 * files and files too large are refused with what to do instead. Every read is recorded in the
 * tool state, which is what lets Write and Edit touch the file afterwards.
 */
import { basename, dirname, extname } from 'node:path'
import { z } from 'zod'
import { closest } from '../../../kernel/index.js'
import { EnvironmentError, type FileStat } from '../../sandbox/index.js'
import { recordSeen } from '../file-reads.js'
import { parseNotebook, renderNotebook } from '../notebook.js'
import { defineTool } from '../registry.js'
import { decodeText, looksBinary, splitLines } from '../text-file.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { areDefaults, builtJsonSchema } from './defaults.js'

export interface ReadToolOptions {
  /** Lines returned when the call gives no limit. Default 2000. */
  readonly maxLines?: number
  /** Longer lines are cut, with a note. Default 2000 characters. */
  readonly maxLineLength?: number
  /** Text files larger than this are refused (use Grep or Bash). Default 20 MiB. */
  readonly maxFileBytes?: number
  /** Images larger than this are refused. Default 5 MiB (the providers' own limit). */
  readonly maxImageBytes?: number
  /** The numbered text returned is cut after this many characters, with where to go on. Default 256 000. */
  readonly maxOutputChars?: number
}

const DEFAULTS: Required<ReadToolOptions> = {
  maxLines: 2000,
  maxLineLength: 2000,
  maxFileBytes: 20 * 1024 * 1024,
  maxImageBytes: 5 * 1024 * 1024,
  maxOutputChars: 256_000,
}

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
}

export interface ReadInput {
  file_path: string
  offset?: number | undefined
  limit?: number | undefined
}

const describeTool = (s: Required<ReadToolOptions>) => `Reads a file from the workspace.

- file_path is an absolute path, or relative to the working directory.
- Returns up to ${s.maxLines} lines from the start by default, numbered like \`cat -n\` (line number, a tab, the line). Use offset (first line, 1-based) and limit for long files.
- Lines longer than ${s.maxLineLength} characters are cut.
- Images (PNG, JPEG, GIF, WebP) are returned as images when the model can see them.
- Directories cannot be read: use LS or Glob. Read a file before you Write or Edit it.
- Reading several files that may be relevant at once, in parallel, is fine.`

/** The tool made with the defaults (`readTool`), given back for them (builtins/defaults.ts). */
let withDefaults: Tool<ReadInput> | undefined

export function createReadTool(options: ReadToolOptions = {}): Tool<ReadInput> {
  const settings = { ...DEFAULTS, ...options }
  if (withDefaults && areDefaults(settings, DEFAULTS)) return withDefaults
  return defineTool({
    name: 'Read',
    jsonSchema: areDefaults(settings, DEFAULTS) ? builtJsonSchema('Read') : undefined,
    description: describeTool(settings),
    input: z.object({
      file_path: z
        .string()
        .min(1)
        .describe('The file to read: an absolute path, or relative to the working directory'),
      offset: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('The line number to start reading from (1-based); only for files too long to read at once'),
      limit: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(`How many lines to read (default ${settings.maxLines})`),
    }),
    annotations: { readOnly: true, idempotent: true },
    access: 'read',
    permissionTarget: (call) => call.file_path,
    execute: async (call, ctx) => {
      try {
        return await readFile(call, ctx, settings)
      } catch (error) {
        if (error instanceof EnvironmentError && error.kind === 'not-found') {
          return errorOutput(
            `File does not exist: ${call.file_path}.${await suggestion(call.file_path, ctx)}`,
          )
        }
        return failure(error)
      }
    },
  })
}

/** The Read tool with its defaults. */
export const readTool = createReadTool()
withDefaults = readTool

async function suggestion(path: string, ctx: ToolContext): Promise<string> {
  try {
    const entries = await ctx.env.readdir(dirname(path))
    const match = closest(
      basename(path),
      entries.map((entry) => entry.name),
    )
    return match ? ` Did you mean ${JSON.stringify(match)} in the same directory?` : ''
  } catch {
    return ''
  }
}

async function readFile(
  call: ReadInput,
  ctx: ToolContext,
  settings: Required<ReadToolOptions>,
): Promise<ToolOutput | string> {
  // Opened once where the environment can (the path resolved and checked once, the bytes from the
  // file that was checked); else stat, then readFile.
  // An open the stat would not need (no read permission, a socket) fails as 'io': then stat and
  // readFile answer as they always did.
  const opened = await ctx.env.openFile?.(call.file_path).catch((error: unknown) => {
    if (error instanceof EnvironmentError && error.kind === 'io') return undefined
    throw error
  })
  try {
    const stat = opened?.stat ?? (await ctx.env.stat(call.file_path))
    const bytes = () => (opened ? opened.read() : ctx.env.readFile(stat.path))
    return await readOpened(call, ctx, settings, stat, bytes)
  } finally {
    await opened?.close()
  }
}

async function readOpened(
  call: ReadInput,
  ctx: ToolContext,
  settings: Required<ReadToolOptions>,
  stat: FileStat,
  bytes: () => Promise<Buffer>,
): Promise<ToolOutput | string> {
  const shown = displayPath(ctx.env, stat.path)
  if (stat.type === 'directory') {
    return errorOutput(
      `${shown} is a directory, not a file. Use LS to list what is in it, or Glob to find files in it.`,
    )
  }
  if (stat.type !== 'file') return errorOutput(`${shown} is not a regular file.`)

  const mediaType = IMAGE_TYPES[extname(stat.path).toLowerCase()]
  if (mediaType) return readImage(stat, shown, mediaType, ctx, settings, bytes)

  if (stat.size > settings.maxFileBytes) {
    return errorOutput(
      `${shown} is ${formatBytes(stat.size)}, more than Read takes (${formatBytes(settings.maxFileBytes)}). Use Grep to find the part you need, or Bash (head, tail, sed -n) to read a range.`,
    )
  }
  const data = await bytes()
  recordSeen(ctx.state, stat)
  if (data.length === 0) return `${shown} is empty (0 bytes).`
  if (looksBinary(data)) {
    return errorOutput(
      `${shown} is a binary file (${formatBytes(data.length)}) and cannot be shown as text. Use Bash (file, xxd | head) to inspect it.`,
    )
  }
  if (extname(stat.path).toLowerCase() === '.ipynb') {
    const notebook = readNotebook(decodeText(data).text, stat.path)
    if (notebook) return notebook
  }
  const lines = splitLines(decodeText(data).text)
  const first = Math.max(1, call.offset ?? 1)
  if (first > lines.length) {
    return errorOutput(
      `${shown} has ${lines.length} line${lines.length === 1 ? '' : 's'}; offset ${first} is past the end.`,
    )
  }
  const limit = call.limit ?? settings.maxLines
  const last = Math.min(lines.length, first + limit - 1)
  const width = Math.max(6, String(last).length)
  const out: string[] = []
  let chars = 0
  let cutLines = 0
  let shownLast = first - 1
  for (let n = first; n <= last; n++) {
    let line = lines[n - 1]!
    if (line.length > settings.maxLineLength) {
      line = `${line.slice(0, settings.maxLineLength)} [... line cut: ${line.length} characters in all]`
      cutLines++
    }
    const numbered = `${String(n).padStart(width)}\t${line}`
    if (chars + numbered.length > settings.maxOutputChars && out.length > 0) break
    out.push(numbered)
    chars += numbered.length + 1
    shownLast = n
  }
  const notes: string[] = []
  if (shownLast < lines.length) {
    notes.push(
      `Showing lines ${first}-${shownLast} of ${lines.length}. Read on with offset=${shownLast + 1}${shownLast < last ? ' (the output size limit was reached)' : ''}.`,
    )
  }
  if (cutLines > 0) {
    notes.push(
      `${cutLines} line${cutLines === 1 ? ' was' : 's were'} longer than ${settings.maxLineLength} characters and cut; use Grep or Bash to see more of ${cutLines === 1 ? 'it' : 'them'}.`,
    )
  }
  const text = notes.length > 0 ? `${out.join('\n')}\n\n(${notes.join(' ')})` : out.join('\n')
  return {
    content: [{ type: 'text', text }],
    // Claude Code's Read result (hooks' tool_response, -p's tool_use_result): the lines as in the file.
    structured: {
      type: 'text',
      file: {
        filePath: stat.path,
        content: lines.slice(first - 1, shownLast).join('\n'),
        numLines: shownLast - first + 1,
        startLine: first,
        totalLines: lines.length,
      },
    },
    display: { path: stat.path, firstLine: first, lastLine: shownLast, totalLines: lines.length },
  }
}

async function readImage(
  stat: FileStat,
  shown: string,
  mediaType: string,
  ctx: ToolContext,
  settings: Required<ReadToolOptions>,
  bytes: () => Promise<Buffer>,
): Promise<ToolOutput | string> {
  if (!ctx.model.vision) {
    recordSeen(ctx.state, stat)
    return `${shown} is an image (${mediaType}, ${formatBytes(stat.size)}). The current model cannot see images, so its content is not shown.`
  }
  if (stat.size > settings.maxImageBytes) {
    return errorOutput(
      `${shown} is an image of ${formatBytes(stat.size)}, more than can be sent to the model (${formatBytes(settings.maxImageBytes)}).`,
    )
  }
  const data = await bytes()
  recordSeen(ctx.state, stat)
  return {
    content: [{ type: 'image', mediaType, data: data.toString('base64') }],
    display: { path: stat.path, mediaType, bytes: data.length },
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/** A notebook's cells, as NotebookEdit names them; undefined when it does not parse (shown as text). */
function readNotebook(text: string, path: string): ToolOutput | undefined {
  const parsed = parseNotebook(text)
  if ('error' in parsed) return undefined
  return {
    content: [{ type: 'text', text: renderNotebook(parsed.notebook) }],
    // Claude Code's Read result for a notebook (hooks' tool_response, -p's tool_use_result).
    structured: { type: 'notebook', file: { filePath: path, cells: parsed.notebook.cells } },
    display: { path, notebook: true, cells: parsed.notebook.cells.length },
  }
}
