/**
 * MultiEdit: several exact replacements in one file, applied in order, each to the result of the
 * one before. All or nothing: if any edit fails, the file is left as it was.
 */
import { z } from 'zod'
import { editFile, type StringEdit } from '../file-edits.js'
import { defineTool } from '../registry.js'
import type { Tool } from '../tool.js'
import { builtJsonSchema } from './defaults.js'

export interface MultiEditInput {
  file_path: string
  edits: StringEdit[]
}

const DESCRIPTION = `Makes several replacements in one file at once; prefer it to several Edit calls on the same file.

- The same rules as Edit for each edit: the file must have been read in this session; old_string must match exactly and be unique unless replace_all is true.
- Edits are applied in order, each to the text the previous ones produced, so a later old_string must match the text after the earlier edits.
- All or nothing: if any edit fails, none is applied.`

export const multiEditTool: Tool<MultiEditInput> = defineTool({
  name: 'MultiEdit',
  jsonSchema: builtJsonSchema('MultiEdit'),
  description: DESCRIPTION,
  input: z.object({
    file_path: z
      .string()
      .min(1)
      .describe('The file to edit: an absolute path, or relative to the working directory'),
    edits: z
      .array(
        z.object({
          old_string: z.string().describe('The exact text to replace'),
          new_string: z.string().describe('The text to put in its place'),
          replace_all: z.boolean().optional().describe('Replace every occurrence (default false)'),
        }),
      )
      .min(1)
      .describe('The replacements, applied in order'),
  }),
  annotations: { readOnly: false, destructive: true },
  access: 'edit',
  permissionTarget: (call) => call.file_path,
  execute: (call, ctx) =>
    editFile(call.file_path, call.edits, ctx, (index) => `Edit ${index + 1} of ${call.edits.length}: `),
})
