/**
 * Memory files and their `@path` imports. An import is `@` at the start of a line or after
 * whitespace, followed by a path (relative to the importing file, `~/` for the home directory,
 * or absolute). Imports inside inline code spans and fenced code blocks are text, not imports.
 * Depth is limited (5 hops from the file that was loaded); a cycle is reported, not fatal.
 */
import { readFile, realpath } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'

export const MAX_IMPORT_DEPTH = 5

export interface MemoryProblem {
  readonly file: string
  readonly kind: 'cycle' | 'depth' | 'missing' | 'unreadable'
  readonly message: string
  /** The import as written. */
  readonly import?: string
}

/** A loaded memory file and the files it imported, in the order they were loaded. */
export interface LoadedFile {
  readonly path: string
  readonly content: string
  /** 0 for a file loaded for itself, n for an import n hops away. */
  readonly depth: number
  readonly importedBy?: string
  readonly imports: readonly LoadedFile[]
}

/** The paths a text imports, in order, with code spans and fenced blocks left out. */
export function findImports(text: string): string[] {
  const found: string[] = []
  let fence: string | undefined
  for (const line of text.split(/\r?\n/)) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (fence !== undefined) {
      // A closing fence: same character, at least as long, nothing else on the line.
      if (
        marker &&
        marker[1]![0] === fence[0] &&
        marker[1]!.length >= fence.length &&
        line.trim() === marker[1]
      )
        fence = undefined
      continue
    }
    if (marker) {
      fence = marker[1]!
      continue
    }
    // Indented code blocks (4 spaces) are code too.
    if (/^( {4}|\t)/.test(line)) continue
    const outside = stripCodeSpans(line)
    for (const match of outside.matchAll(/(?:^|[\s([])@((?:~\/|\.{1,2}\/|\/)?[^\s`]+)/g)) {
      const path = match[1]!.replace(/[),;:!?'"\]]+$/, '').replace(/\.$/, '')
      if (path !== '' && !path.startsWith('@')) found.push(path)
    }
  }
  return found
}

/** Replaces inline code spans (`x`, ``x``) with spaces so nothing inside them matches. */
export function stripCodeSpans(line: string): string {
  let out = ''
  let i = 0
  while (i < line.length) {
    if (line[i] === '`') {
      let n = 0
      while (line[i + n] === '`') n++
      const ticks = '`'.repeat(n)
      let close = line.indexOf(ticks, i + n)
      // The closing run must be exactly n backticks long.
      while (close !== -1 && line[close + n] === '`') close = line.indexOf(ticks, close + n + 1)
      if (close === -1) {
        out += line.slice(i, i + n)
        i += n
        continue
      }
      out += ' '.repeat(close + n - i)
      i = close + n
      continue
    }
    out += line[i]
    i++
  }
  return out
}

export function resolveImport(path: string, from: string, home: string): string {
  if (path === '~') return home
  if (path.startsWith('~/')) return join(home, path.slice(2))
  if (isAbsolute(path)) return path
  return resolve(dirname(from), path)
}

export interface LoadOptions {
  /** The home directory `~/` refers to. */
  readonly home: string
  readonly maxDepth?: number
  /** Real paths loaded so far (shared across files of one load, so a file is included once). */
  readonly seen?: Set<string>
  readonly problems: MemoryProblem[]
}

async function realOrSelf(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch {
    return path
  }
}

/**
 * Loads a memory file and, depth first, what it imports. Returns undefined when the file does
 * not exist (or was loaded already through another path); problems go to `options.problems`.
 */
export async function loadMemoryFile(
  path: string,
  options: LoadOptions,
  depth = 0,
  ancestors: readonly string[] = [],
  importedBy?: string,
): Promise<LoadedFile | undefined> {
  const maxDepth = options.maxDepth ?? MAX_IMPORT_DEPTH
  const seen = options.seen ?? new Set<string>()
  const real = await realOrSelf(path)
  let content: string
  try {
    content = await readFile(real, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (depth === 0 && code === 'ENOENT') return undefined
    options.problems.push({
      file: importedBy ?? path,
      kind: code === 'ENOENT' ? 'missing' : 'unreadable',
      message:
        code === 'ENOENT'
          ? `${importedBy ?? path}: imported file ${path} does not exist`
          : `${path}: cannot read: ${(error as Error).message}`,
    })
    return undefined
  }
  if (seen.has(real)) return undefined
  seen.add(real)
  const chain = [...ancestors, real]
  const imports: LoadedFile[] = []
  for (const written of findImports(content)) {
    const target = resolveImport(written, real, options.home)
    const targetReal = await realOrSelf(target)
    if (chain.includes(targetReal)) {
      options.problems.push({
        file: real,
        kind: 'cycle',
        import: written,
        message: `${real}: import @${written} is a cycle (${[...chain, targetReal].join(' -> ')}); not loaded again`,
      })
      continue
    }
    if (depth + 1 > maxDepth) {
      options.problems.push({
        file: real,
        kind: 'depth',
        import: written,
        message: `${real}: import @${written} is deeper than ${maxDepth} levels; not loaded`,
      })
      continue
    }
    const child = await loadMemoryFile(target, { ...options, seen }, depth + 1, chain, real)
    if (child) imports.push(child)
  }
  return { path: real, content, depth, ...(importedBy ? { importedBy } : {}), imports }
}

/** The file and its imports, depth first, in load order. */
export function flatten(file: LoadedFile): LoadedFile[] {
  return [file, ...file.imports.flatMap(flatten)]
}
