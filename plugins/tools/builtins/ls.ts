/** LS: the entries of one directory, sorted, directories marked with a trailing `/`. */
import { join } from 'node:path'
import { z } from 'zod'
import { loadIgnore } from '../lazy-deps.js'
import { defineTool } from '../registry.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { builtJsonSchema } from './defaults.js'

export interface LsToolOptions {
  /** Entries listed at most. Default 1000. */
  readonly limit?: number
}

export interface LsInput {
  path?: string | undefined
  ignore?: string[] | undefined
}

const describeTool = (limit: number) => `Lists the files and directories in a directory (not recursive).

- path is an absolute path, or relative to the working directory (default: the working directory).
- Directories end with /, symbolic links with @. At most ${limit} entries are listed.
- ignore takes glob patterns (gitignore style, e.g. "*.log", "dist/") of entries to leave out.
- To find files by name across directories, use Glob; to search contents, Grep.`

/** The tool made with the defaults (`lsTool`), given back for them (builtins/defaults.ts). */
let withDefaults: Tool<LsInput> | undefined

export function createLsTool(options: LsToolOptions = {}): Tool<LsInput> {
  const limit = options.limit ?? 1000
  if (limit === 1000 && withDefaults) return withDefaults
  return defineTool({
    name: 'LS',
    jsonSchema: limit === 1000 ? builtJsonSchema('LS') : undefined,
    description: describeTool(limit),
    input: z.object({
      path: z
        .string()
        .optional()
        .describe('The directory to list: absolute, or relative to the working directory (default: it)'),
      ignore: z.array(z.string()).optional().describe('Glob patterns of entries to leave out'),
    }),
    annotations: { readOnly: true, idempotent: true },
    access: 'read',
    permissionTarget: (call) => call.path ?? '.',
    execute: async (call, ctx) => {
      try {
        return await list(call, ctx, limit)
      } catch (error) {
        return failure(error)
      }
    },
  })
}

/** The LS tool with its defaults. */
export const lsTool = createLsTool()
withDefaults = lsTool

async function list(call: LsInput, ctx: ToolContext, limit: number): Promise<ToolOutput | string> {
  const stat = await ctx.env.stat(call.path ?? '.')
  const shown = displayPath(ctx.env, stat.path)
  if (stat.type !== 'directory') {
    return errorOutput(`${shown} is not a directory. Use Read to read a file.`)
  }
  if (ctx.isDenied?.(stat.path)) return errorOutput(`${shown} is denied by a permission rule.`)
  const ignored = loadIgnore()().add(call.ignore ?? [])
  const { isDenied } = ctx
  const entries = (await ctx.env.readdir(stat.path))
    // A denied entry is neither listed nor counted.
    .filter((entry) => !isDenied?.(join(stat.path, entry.name)))
    .map((entry) => ({
      name: entry.name,
      label:
        entry.type === 'directory'
          ? `${entry.name}/`
          : entry.type === 'symlink'
            ? `${entry.name}@`
            : entry.name,
      test: entry.type === 'directory' ? `${entry.name}/` : entry.name,
    }))
    .filter((entry) => !ignored.ignores(entry.test))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const head = `${stat.path}/`
  if (entries.length === 0) return `${head}\n(empty${call.ignore?.length ? ' after ignore patterns' : ''})`
  const listed = entries.slice(0, limit).map((entry) => entry.label)
  const lines = [head, ...listed]
  if (entries.length > limit) {
    lines.push(`(${entries.length - limit} more entries not listed; use Glob to narrow down)`)
  }
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    display: { path: stat.path, entries: listed, total: entries.length },
  }
}
