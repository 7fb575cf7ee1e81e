/**
 * Grep: searches file contents with a JavaScript regular expression, ripgrep-style. Walks with
 * fast-glob (streamed, .gitignore respected), reads files with a bounded concurrency, skips
 * binary files and files over a size limit, checks a required literal on the raw bytes before
 * decoding, and stops walking once head_limit results are in.
 */
import { extname, basename as pathBasename } from 'node:path'
import { z } from 'zod'
import { type CompiledPattern, compilePattern, matchText } from '../grep-match.js'
import { defineTool } from '../registry.js'
import { fileSource, walkFiles } from '../search-walk.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { displayPath, errorOutput, failure } from '../tool-paths.js'
import { areDefaults, builtJsonSchema } from './defaults.js'

export interface GrepToolOptions {
  /** Results returned when the call gives no head_limit (lines, files or counts). Default 250. */
  readonly headLimit?: number
  /** Larger files are skipped. Default 5 MiB. */
  readonly maxFileBytes?: number
  /** Files read at once when they are read asynchronously (environments other than the local one). Default 24. */
  readonly concurrency?: number
  /** Matching lines longer than this are cut in content output. Default 500. */
  readonly maxLineLength?: number
}

const DEFAULTS: Required<GrepToolOptions> = {
  headLimit: 250,
  maxFileBytes: 5 * 1024 * 1024,
  concurrency: 24,
  maxLineLength: 500,
}

/** File types for `type`, by extension (and a few well-known names), as ripgrep's --type. */
export const FILE_TYPES: Readonly<Record<string, readonly string[]>> = {
  c: ['.c', '.h'],
  cpp: ['.cpp', '.cc', '.cxx', '.c++', '.hpp', '.hh', '.hxx', '.h++', '.h', '.inl'],
  cs: ['.cs', '.csx'],
  css: ['.css', '.scss', '.sass', '.less'],
  csv: ['.csv', '.tsv'],
  dart: ['.dart'],
  docker: ['Dockerfile', '.dockerfile'],
  elixir: ['.ex', '.exs'],
  erlang: ['.erl', '.hrl'],
  go: ['.go'],
  graphql: ['.graphql', '.gql'],
  haskell: ['.hs', '.lhs'],
  html: ['.html', '.htm', '.xhtml'],
  java: ['.java', '.jsp'],
  js: ['.js', '.mjs', '.cjs', '.jsx'],
  json: ['.json', '.jsonc', '.json5', '.jsonl', '.ndjson'],
  kotlin: ['.kt', '.kts'],
  lua: ['.lua'],
  make: ['Makefile', 'makefile', 'GNUmakefile', '.mk', '.mak'],
  md: ['.md', '.markdown', '.mdx'],
  markdown: ['.md', '.markdown', '.mdx'],
  ocaml: ['.ml', '.mli'],
  php: ['.php', '.phtml'],
  proto: ['.proto'],
  py: ['.py', '.pyi', '.pyw'],
  python: ['.py', '.pyi', '.pyw'],
  r: ['.r', '.R', '.Rmd'],
  ruby: ['.rb', '.rake', '.gemspec', 'Gemfile', 'Rakefile'],
  rust: ['.rs'],
  scala: ['.scala', '.sc'],
  sh: ['.sh', '.bash', '.zsh', '.ksh', '.fish'],
  sql: ['.sql'],
  svelte: ['.svelte'],
  swift: ['.swift'],
  toml: ['.toml'],
  ts: ['.ts', '.tsx', '.mts', '.cts'],
  typescript: ['.ts', '.tsx', '.mts', '.cts'],
  txt: ['.txt'],
  vue: ['.vue'],
  xml: ['.xml', '.xsd', '.xsl', '.xslt', '.svg', '.plist'],
  yaml: ['.yaml', '.yml'],
  zig: ['.zig'],
}

export type GrepOutputMode = 'content' | 'files_with_matches' | 'count'

export interface GrepInput {
  pattern: string
  path?: string | undefined
  glob?: string | undefined
  type?: string | undefined
  output_mode?: GrepOutputMode | undefined
  '-i'?: boolean | undefined
  '-n'?: boolean | undefined
  '-A'?: number | undefined
  '-B'?: number | undefined
  '-C'?: number | undefined
  context?: number | undefined
  '-o'?: boolean | undefined
  multiline?: boolean | undefined
  head_limit?: number | undefined
  offset?: number | undefined
}

const describeTool = (
  s: Required<GrepToolOptions>,
) => `Searches file contents with a regular expression (JavaScript syntax, like ripgrep's).

- pattern: e.g. "log.*Error", "function\\s+\\w+". Escape literal braces and parentheses ("interface\\{\\}"). Matches are line by line unless multiline is true (then . also matches newlines and a match may span lines).
- path: a file or directory (default: the working directory). Files ignored by .gitignore, binary files and files over ${Math.round(s.maxFileBytes / 1048576)} MiB are skipped.
- glob filters files ("*.js", "src/**/*.{ts,tsx}", "!*.test.ts" to exclude); type filters by language (js, ts, py, rust, go, java, md, json, yaml, ...).
- output_mode: "files_with_matches" (default: file paths, most recently modified first), "content" (matching lines; -n line numbers, on by default; -A/-B/-C context lines; -o only the matching parts), or "count" (matching lines per file).
- -i: case-insensitive. head_limit: at most this many lines or entries (default ${s.headLimit}); offset: skip this many first (to page on).
- Use Grep rather than grep or rg through Bash.`

/** The tool made with the defaults (`grepTool`), given back for them (builtins/defaults.ts). */
let withDefaults: Tool<GrepInput> | undefined

export function createGrepTool(options: GrepToolOptions = {}): Tool<GrepInput> {
  const settings = { ...DEFAULTS, ...options }
  if (withDefaults && areDefaults(settings, DEFAULTS)) return withDefaults
  const context = z.number().int().min(0).max(100).optional()
  return defineTool({
    name: 'Grep',
    jsonSchema: areDefaults(settings, DEFAULTS) ? builtJsonSchema('Grep') : undefined,
    description: describeTool(settings),
    input: z.object({
      pattern: z.string().min(1).describe('The regular expression to search for'),
      path: z.string().optional().describe('File or directory to search in (default: the working directory)'),
      glob: z
        .string()
        .optional()
        .describe('Only files matching this glob, e.g. "*.js" or "*.{ts,tsx}"; "!pattern" excludes'),
      type: z
        .string()
        .optional()
        .describe('Only files of this type: js, ts, py, rust, go, java, md, json, ...'),
      output_mode: z
        .enum(['content', 'files_with_matches', 'count'])
        .optional()
        .describe('"files_with_matches" (default), "content" or "count"'),
      '-i': z.boolean().optional().describe('Case-insensitive search'),
      '-n': z.boolean().optional().describe('Line numbers in content output (default true)'),
      '-A': context.describe('Lines to show after each match (content output)'),
      '-B': context.describe('Lines to show before each match (content output)'),
      '-C': context.describe('Lines to show before and after each match (content output)'),
      context: context.describe('The same as -C'),
      '-o': z.boolean().optional().describe('Content output: only the matching parts, one a line'),
      multiline: z.boolean().optional().describe('Let . match newlines and matches span lines'),
      head_limit: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(`At most this many output lines or entries (default ${settings.headLimit})`),
      offset: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('Skip this many output lines or entries first (with head_limit: the next page)'),
    }),
    annotations: { readOnly: true, idempotent: true },
    access: 'read',
    permissionTarget: (call) => call.path ?? '.',
    execute: async (call, ctx) => {
      try {
        return await grep(call, ctx, settings)
      } catch (error) {
        return failure(error)
      }
    },
  })
}

/** The Grep tool with its defaults. */
export const grepTool = createGrepTool()
withDefaults = grepTool

interface FileResult {
  readonly path: string
  readonly lines: number[]
  readonly count: number
  /** The file's text, kept only for content output. */
  readonly text: string | undefined
}

/** glob -> fast-glob include/exclude patterns (a glob without `/` matches at any depth, as in ripgrep). */
function globPatterns(
  glob: string | undefined,
): { include: string[]; exclude: string[] } | { error: string } {
  if (!glob) return { include: ['**/*'], exclude: [] }
  const include: string[] = []
  const exclude: string[] = []
  for (const part of glob.split(/\s+/).filter(Boolean)) {
    const negated = part.startsWith('!')
    let pattern = negated ? part.slice(1) : part
    if (pattern.split('/').includes('..')) return { error: `glob may not contain '..': ${glob}` }
    pattern = pattern.startsWith('/') ? pattern.slice(1) : pattern.includes('/') ? pattern : `**/${pattern}`
    ;(negated ? exclude : include).push(pattern)
  }
  return { include: include.length > 0 ? include : ['**/*'], exclude }
}

function typeFilter(type: string | undefined): ((path: string) => boolean) | { error: string } | undefined {
  if (!type) return undefined
  const kinds = FILE_TYPES[type.toLowerCase()]
  if (!kinds) {
    return { error: `Unknown type '${type}'. Known types: ${Object.keys(FILE_TYPES).join(', ')}.` }
  }
  const extensions = new Set(kinds.filter((k) => k.startsWith('.')))
  const names = new Set(kinds.filter((k) => !k.startsWith('.')))
  return (path) => extensions.has(extname(path)) || names.has(pathBasename(path))
}

function searchData(
  path: string,
  data: Buffer | undefined,
  pattern: CompiledPattern,
  mode: GrepOutputMode,
): FileResult | undefined {
  if (!data || data.length === 0) return undefined
  for (const literal of pattern.required) if (data.indexOf(literal) === -1) return undefined
  if (pattern.requiredAnyCase.length > 0 && !pattern.requiredAnyCase.some((s) => data.indexOf(s) !== -1)) {
    return undefined
  }
  // Binary: a NUL byte anywhere (memchr-fast); ripgrep also gives up on such files.
  if (data.indexOf(0) !== -1) return undefined
  const text = data.toString('utf8')
  const found = matchText(text, pattern, mode === 'files_with_matches')
  if (found.lines.length === 0) return undefined
  return { path, ...found, text: mode === 'content' ? text : undefined }
}

/** Longest stretch of synchronous reading before yielding to the event loop. */
const SLICE_MS = 8

function cut(line: string, max: number): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line
  return text.length > max ? `${text.slice(0, max)} [... ${text.length - max} more characters]` : text
}

/** `-o`: each match of each matching line on a line of its own (as grep -o; no context). */
function onlyMatching(file: FileResult, shown: string, pattern: CompiledPattern, numbers: boolean): string[] {
  const out: string[] = []
  const textLines = (file.text ?? '').split('\n')
  const each = new RegExp(
    pattern.line.source,
    pattern.line.flags.includes('g') ? pattern.line.flags : `${pattern.line.flags}g`,
  )
  for (const index of file.lines) {
    const line = textLines[index] ?? ''
    each.lastIndex = 0
    for (let m = each.exec(line); m; m = each.exec(line)) {
      if (m[0] === '') {
        each.lastIndex++
        continue
      }
      out.push(`${shown}:${numbers ? `${index + 1}:` : ''}${m[0]}`)
    }
  }
  return out
}

/** Content output lines of one file: matches with `:`, context with `-`, `--` between groups. */
function contentLines(
  file: FileResult,
  shown: string,
  before: number,
  after: number,
  numbers: boolean,
  maxLineLength: number,
): string[] {
  const out: string[] = []
  const textLines = (file.text ?? '').split('\n')
  const matches = new Set(file.lines)
  let lastPrinted = -2
  for (const index of file.lines) {
    const from = Math.max(0, index - before, lastPrinted + 1)
    const to = Math.min(textLines.length - 1, index + after)
    if ((before > 0 || after > 0) && lastPrinted >= 0 && from > lastPrinted + 1) out.push('--')
    for (let l = from; l <= to; l++) {
      // The empty string after a final newline is not a line.
      if (l === textLines.length - 1 && textLines[l] === '') break
      const sep = matches.has(l) ? ':' : '-'
      out.push(`${shown}${sep}${numbers ? `${l + 1}${sep}` : ''}${cut(textLines[l]!, maxLineLength)}`)
      lastPrinted = l
    }
  }
  return out
}

async function grep(
  call: GrepInput,
  ctx: ToolContext,
  settings: Required<GrepToolOptions>,
): Promise<ToolOutput | string> {
  let pattern: CompiledPattern
  try {
    pattern = compilePattern(call.pattern, {
      ignoreCase: call['-i'] ?? false,
      multiline: call.multiline ?? false,
    })
  } catch (error) {
    return errorOutput(
      `Invalid regular expression ${JSON.stringify(call.pattern)}: ${(error as Error).message}. Patterns use JavaScript syntax; escape literal ( ) [ ] { } . * + ? with a backslash.`,
    )
  }
  const mode: GrepOutputMode = call.output_mode ?? 'files_with_matches'
  const headLimit = call.head_limit ?? settings.headLimit
  const offset = call.offset ?? 0
  if (call['-o'] === true && call.multiline === true)
    return errorOutput('-o prints matches line by line; it cannot be used with multiline.')
  /** The page asked for: `offset` skipped, then at most `headLimit`. */
  const page = <T>(items: readonly T[]): T[] => items.slice(offset, offset + headLimit)
  const globs = globPatterns(call.glob)
  if ('error' in globs) return errorOutput(globs.error)
  const ofType = typeFilter(call.type)
  if (ofType && typeof ofType !== 'function') return errorOutput(ofType.error)
  const both = call['-C'] ?? call.context
  const before = call['-B'] ?? both ?? 0
  const after = call['-A'] ?? both ?? 0
  const numbers = call['-n'] ?? true

  const target = await ctx.env.stat(call.path ?? '.')
  const shownTarget = displayPath(ctx.env, target.path)
  const source = fileSource(ctx.env)
  const results: FileResult[] = []
  let produced = 0
  let cutShort = false

  const take = (result: FileResult | undefined) => {
    if (!result) return
    results.push(result)
    produced += mode === 'content' ? result.lines.length * (1 + before + after) : 1
    if (produced >= offset + headLimit) cutShort = true
  }

  if (ctx.isDenied?.(target.path)) return errorOutput(`${shownTarget} is denied by a permission rule.`)
  if (target.type === 'file') {
    const data = await source.read(target.path, settings.maxFileBytes)
    if (!data) {
      return `${shownTarget} was not searched: it is larger than ${Math.round(settings.maxFileBytes / 1048576)} MiB (or could not be read).`
    }
    if (data.indexOf(0) !== -1) return `${shownTarget} was not searched: it is a binary file.`
    take(searchData(target.path, data, pattern, mode))
  } else if (target.type === 'directory') {
    const walk = walkFiles({
      env: ctx.env,
      root: target.path,
      patterns: globs.include,
      exclude: globs.exclude,
      signal: ctx.signal,
      denied: ctx.isDenied,
    })
    const { readSync } = source
    if (readSync) {
      // Local disk: synchronous reads in short slices (see FileSource.readSync).
      let slice = performance.now()
      for await (const file of walk) {
        if (cutShort || ctx.signal.aborted) break
        if (ofType && !ofType(file)) continue
        take(searchData(file, readSync(file, settings.maxFileBytes), pattern, mode))
        if (performance.now() - slice > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve))
          slice = performance.now()
        }
      }
    } else {
      const inFlight = new Set<Promise<void>>()
      for await (const file of walk) {
        if (cutShort || ctx.signal.aborted) break
        if (ofType && !ofType(file)) continue
        const task: Promise<void> = source
          .read(file, settings.maxFileBytes)
          .then((data) => take(searchData(file, data, pattern, mode)))
          .finally(() => inFlight.delete(task))
        inFlight.add(task)
        if (inFlight.size >= settings.concurrency) await Promise.race(inFlight)
      }
      await Promise.all(inFlight)
    }
  } else {
    return errorOutput(`${shownTarget} is neither a file nor a directory.`)
  }
  if (ctx.signal.aborted) return errorOutput('Cancelled.')

  const where =
    target.type === 'file' ? shownTarget : `${shownTarget === '.' ? 'the working directory' : shownTarget}`
  if (results.length === 0) return `No matches for ${JSON.stringify(call.pattern)} in ${where}.`
  const more = cutShort ? ' More may exist: narrow the search (path, glob, type) or raise head_limit.' : ''

  if (mode === 'files_with_matches') {
    const mtimes = new Map(
      await Promise.all(results.map(async (r) => [r.path, await source.mtime(r.path)] as const)),
    )
    const files = results
      .map((r) => r.path)
      .sort((a, b) => mtimes.get(b)! - mtimes.get(a)! || (a < b ? -1 : a > b ? 1 : 0))
    const listed = page(files).map((file) => displayPath(ctx.env, file))
    const head = `Found ${files.length} file${files.length === 1 ? '' : 's'}${cutShort ? ' (stopped at head_limit)' : ''}:`
    const text = [head, ...listed].join('\n') + (more ? `\n(${more.trim()})` : '')
    return {
      content: [{ type: 'text', text }],
      // Claude Code's Grep result (hooks' tool_response, -p's tool_use_result).
      structured: { mode, numFiles: files.length, filenames: page(files) },
      display: { mode, files: listed },
    }
  }

  results.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  if (mode === 'count') {
    const lines = page(results).map((r) => `${displayPath(ctx.env, r.path)}:${r.count}`)
    const total = results.reduce((sum, r) => sum + r.count, 0)
    const noun = pattern.multiline
      ? total === 1
        ? 'match'
        : 'matches'
      : total === 1
        ? 'matching line'
        : 'matching lines'
    const text = `${lines.join('\n')}\n\nFound ${total} ${noun} in ${results.length} file${results.length === 1 ? '' : 's'}.${more}`
    return {
      content: [{ type: 'text', text }],
      structured: {
        mode,
        numFiles: results.length,
        filenames: results.map((r) => r.path),
        content: lines.join('\n'),
        numMatches: total,
      },
      display: { mode, counts: results.map((r) => [r.path, r.count]) },
    }
  }

  const out: string[] = []
  for (const result of results) {
    if (call['-o'] === true) {
      out.push(...onlyMatching(result, displayPath(ctx.env, result.path), pattern, numbers))
      continue
    }
    if (out.length > 0 && (before > 0 || after > 0)) out.push('--')
    out.push(
      ...contentLines(
        result,
        displayPath(ctx.env, result.path),
        before,
        after,
        numbers,
        settings.maxLineLength,
      ),
    )
  }
  const shown = page(out)
  const truncated = out.length > offset + headLimit || cutShort
  const text =
    shown.join('\n') +
    (truncated
      ? `\n\n(Output cut at head_limit=${headLimit}.${more || ' Narrow the search or raise head_limit.'})`
      : '')
  return {
    content: [{ type: 'text', text }],
    structured: {
      mode,
      numFiles: results.length,
      filenames: results.map((r) => r.path),
      content: shown.join('\n'),
      numLines: shown.length,
    },
    display: { mode, lines: shown.length },
  }
}
