/** Edit: replaces an exact string in a file (see file-edits.ts for the rules it keeps). */
import { z } from 'zod'
import { editFile } from '../file-edits.js'
import { defineTool } from '../registry.js'
import type { Tool } from '../tool.js'
import { builtJsonSchema } from './defaults.js'

export interface EditInput {
  file_path: string
  old_string: string
  new_string: string
  replace_all?: boolean | undefined
}

const DESCRIPTION = `Replaces exact text in a file.

- The file must have been read with Read in this session, and must not have changed since.
- old_string must match the file exactly, indentation included (leave out Read's line-number prefix). It must be unique in the file unless replace_all is true: include a few surrounding lines to make it so.
- replace_all replaces every occurrence (for renaming a variable, say).
- The file's line endings and encoding are kept.
- An empty old_string on a file that does not exist creates it with new_string.`

export const editTool: Tool<EditInput> = defineTool({
  name: 'Edit',
  jsonSchema: builtJsonSchema('Edit'),
  description: DESCRIPTION,
  input: z.object({
    file_path: z
      .string()
      .min(1)
      .describe('The file to edit: an absolute path, or relative to the working directory'),
    old_string: z.string().describe('The exact text to replace'),
    new_string: z.string().describe('The text to put in its place (must differ from old_string)'),
    replace_all: z
      .boolean()
      .optional()
      .describe('Replace every occurrence of old_string (default false: it must occur exactly once)'),
  }),
  annotations: { readOnly: false, destructive: true },
  access: 'edit',
  permissionTarget: (call) => call.file_path,
  execute: (call, ctx) => editFile(call.file_path, [call], ctx),
})
