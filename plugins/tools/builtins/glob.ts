/**
 * Glob: files whose path matches a glob pattern, newest first, .gitignore respected. The fixed
 * leading part of a pattern (`src/lib/` of `src/lib/**\/*.ts`, or an absolute prefix) becomes the
 * directory searched, resolved through the environment like every other path.
 */
import { join, posix } from 'node:path'
import { z } from 'zod'
import { loadFastGlob } from '../lazy-deps.js'
import { defineTool } from '../registry.js'
import { fileSource, walkFiles } from '../search-walk.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { builtJsonSchema } from './defaults.js'

export interface GlobToolOptions {
  /** Paths returned at most (the newest). Default 100. */
  readonly limit?: number
}

export interface GlobInput {
  pattern: string
  path?: string | undefined
}

/** Matches collected at most before sorting; beyond it the order is approximate. */
const MAX_COLLECTED = 100_000
/** Files stat'ed at once (concurrently, or synchronously between yields to the event loop). */
const STAT_BATCH = 256

const describeTool = (
  limit: number,
) => `Finds files by name with a glob pattern, such as "**/*.ts" or "src/**/*.{js,jsx}".

- path is the directory to search (absolute, or relative to the working directory; default: the working directory). The pattern is matched against paths relative to it: "*.ts" matches only at its top level, "**/*.ts" at any depth.
- Files ignored by .gitignore are left out, and .git is never searched.
- Returns matching files, most recently modified first, at most ${limit}.
- To search file contents, use Grep.`

/** Splits the fixed leading directories off a pattern: `src/**\/*.ts` -> `src` and `**\/*.ts`. */
export function splitPattern(pattern: string): { base: string; rest: string } {
  const segments = pattern.split('/')
  let i = 0
  // Any glob character ends the fixed part (a brace may open in one segment and close in another).
  const fixed = (segment: string) =>
    segment === '' || (!/[*?[\]{}()!]/.test(segment) && !loadFastGlob().isDynamicPattern(segment))
  while (i < segments.length - 1 && fixed(segments[i]!)) i++
  const base = segments.slice(0, i).join('/')
  return { base: base === '' && pattern.startsWith('/') ? '/' : base, rest: segments.slice(i).join('/') }
}

/** The tool made with the defaults (`globTool`), given back for them (builtins/defaults.ts). */
let withDefaults: Tool<GlobInput> | undefined

export function createGlobTool(options: GlobToolOptions = {}): Tool<GlobInput> {
  const limit = options.limit ?? 100
  if (limit === 100 && withDefaults) return withDefaults
  return defineTool({
    name: 'Glob',
    jsonSchema: limit === 100 ? builtJsonSchema('Glob') : undefined,
    description: describeTool(limit),
    input: z.object({
      pattern: z.string().min(1).describe('The glob pattern to match file paths against'),
      path: z.string().optional().describe('The directory to search in (default: the working directory)'),
    }),
    annotations: { readOnly: true, idempotent: true },
    access: 'read',
    // The directory actually searched: the path plus the pattern's fixed leading part.
    permissionTarget: (call) => {
      const { base } = splitPattern(call.pattern)
      if (base.startsWith('/')) return base
      return base ? posix.join(call.path ?? '.', base) : (call.path ?? '.')
    },
    execute: async (call, ctx) => {
      try {
        return await glob(call, ctx, limit)
      } catch (error) {
        return failure(error)
      }
    },
  })
}

/** The Glob tool with its defaults. */
export const globTool = createGlobTool()
withDefaults = globTool

async function glob(call: GlobInput, ctx: ToolContext, limit: number): Promise<ToolOutput | string> {
  const { base, rest } = splitPattern(call.pattern)
  if (rest.split('/').includes('..')) {
    return errorOutput(`The pattern may not use '..' after a wildcard: ${call.pattern}`)
  }
  const searchIn = base.startsWith('/') ? base : join(call.path ?? '.', base)
  const dir = await ctx.env.stat(searchIn)
  const shownDir = displayPath(ctx.env, dir.path)
  if (dir.type !== 'directory') return errorOutput(`${shownDir} is not a directory.`)

  const found: string[] = []
  let capped = false
  for await (const file of walkFiles({
    env: ctx.env,
    root: dir.path,
    patterns: [rest],
    signal: ctx.signal,
    denied: ctx.isDenied,
  })) {
    if (found.length >= MAX_COLLECTED) {
      capped = true
      break
    }
    found.push(file)
  }
  if (ctx.signal.aborted) return errorOutput('Cancelled.')
  if (found.length === 0) return `No files match ${call.pattern} in ${shownDir}.`

  const source = fileSource(ctx.env)
  const mtimes = new Map<string, number>()
  const { mtimeSync } = source
  for (let i = 0; i < found.length; i += STAT_BATCH) {
    const batch = found.slice(i, i + STAT_BATCH)
    // Local disk: synchronous lstat in batches, yielding between them; elsewhere concurrently.
    const times = mtimeSync
      ? batch.map((file) => mtimeSync(file))
      : await Promise.all(batch.map((file) => source.mtime(file)))
    for (const [j, file] of batch.entries()) mtimes.set(file, times[j]!)
    if (mtimeSync) await new Promise((resolve) => setImmediate(resolve))
  }
  found.sort((a, b) => mtimes.get(b)! - mtimes.get(a)! || (a < b ? -1 : a > b ? 1 : 0))
  const shown = found.slice(0, limit).map((file) => displayPath(ctx.env, file))
  const lines = [...shown]
  if (found.length > limit || capped) {
    lines.push(
      `(Showing the ${limit} most recently modified of ${capped ? `more than ${MAX_COLLECTED}` : found.length} matching files. Use a narrower pattern or path to see the others.)`,
    )
  }
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    // Claude Code's Glob result (hooks' tool_response, -p's tool_use_result).
    structured: {
      filenames: found.slice(0, limit),
      numFiles: Math.min(found.length, limit),
      truncated: found.length > limit || capped,
    },
    display: {
      pattern: call.pattern,
      path: dir.path,
      files: shown,
      total: found.length,
      truncated: found.length > limit,
    },
  }
}
