/**
 * Write: creates a file, or replaces one the model has read in this session and that has not
 * changed on disk since. The content is written exactly as given (line endings included), in the
 * encoding the existing file had (a BOM or UTF-16 is kept), atomically.
 */
import { z } from 'zod'
import { recordWritten, statIfExists, writeRefusal } from '../file-reads.js'
import { defineTool } from '../registry.js'
import { decodeText, encodeText, looksBinary, splitLines, type TextEncoding } from '../text-file.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { unifiedDiff } from '../unified-diff.js'
import { builtJsonSchema } from './defaults.js'

export interface WriteInput {
  file_path: string
  content: string
}

const DESCRIPTION = `Writes a file in the workspace, replacing it if it exists.

- file_path is an absolute path, or relative to the working directory. Missing parent directories are created.
- An existing file must have been read with Read in this session first, and must not have changed since; otherwise the write is refused.
- Prefer Edit for changing part of an existing file; use Write for new files and complete rewrites.
- The content is written exactly as given.`

export const writeTool: Tool<WriteInput> = defineTool({
  name: 'Write',
  jsonSchema: builtJsonSchema('Write'),
  description: DESCRIPTION,
  input: z.object({
    file_path: z
      .string()
      .min(1)
      .describe('The file to write: an absolute path, or relative to the working directory'),
    content: z.string().describe('The whole content of the file'),
  }),
  annotations: { readOnly: false, destructive: true, idempotent: true },
  access: 'edit',
  permissionTarget: (call) => call.file_path,
  execute: async (call, ctx) => {
    try {
      return await write(call, ctx)
    } catch (error) {
      return failure(error)
    }
  },
})

async function write(call: WriteInput, ctx: ToolContext): Promise<ToolOutput> {
  const path = await ctx.env.resolvePath(call.file_path)
  const shown = displayPath(ctx.env, path)
  const before = await statIfExists(path, ctx)
  let oldText = ''
  let encoding: TextEncoding = 'utf8'
  if (before) {
    if (before.type === 'directory') return errorOutput(`${shown} is a directory; name a file to write.`)
    const refusal = writeRefusal(ctx.state, before, shown)
    if (refusal) return errorOutput(refusal)
    const data = await ctx.env.readFile(path)
    if (!looksBinary(data)) {
      const decoded = decodeText(data)
      oldText = decoded.text
      encoding = decoded.encoding
    }
  }
  if (ctx.signal.aborted) return errorOutput('Cancelled before writing.')
  await ctx.env.writeFile(path, encodeText(call.content, encoding))
  await recordWritten(ctx, path)

  const lines = splitLines(call.content).length
  const { diff, added, removed } = unifiedDiff(oldText, call.content, shown)
  const text = before
    ? `Wrote ${shown} (${lines} line${lines === 1 ? '' : 's'}; +${added} -${removed}).`
    : `Created ${shown} (${lines} line${lines === 1 ? '' : 's'}).`
  return {
    content: [{ type: 'text', text }],
    // Claude Code's Write result (hooks' tool_response, -p's tool_use_result).
    structured: {
      type: before ? 'update' : 'create',
      filePath: path,
      content: call.content,
      structuredPatch: diff,
    },
    display: { type: 'diff', path, created: !before, diff, added, removed },
  }
}
