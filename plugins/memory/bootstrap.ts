/**
 * Bootstrap memory: the instruction files put in the system prompt at session start.
 *
 * Order (the later, more specific files come last, so they read as refinements):
 *   1. user level: <tauHome>/TAU.md, AGENTS.md, CLAUDE.md
 *   2. each directory from the repository root (the nearest ancestor with `.git`; without one,
 *      the filesystem root) down to the session's working directory, outermost first, and in
 *      each directory TAU.md, then AGENTS.md, then CLAUDE.md.
 * Every file brings its `@imports` right after it. A file reached twice (a symlink, CLAUDE.md
 * importing AGENTS.md) is included once, where it first appears.
 */
import { stat } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { flatten, type LoadedFile, loadMemoryFile, type MemoryProblem } from './imports.js'

export const MEMORY_FILE_NAMES = ['TAU.md', 'AGENTS.md', 'CLAUDE.md'] as const

export interface MemorySource {
  readonly scope: 'user' | 'project' | 'subdirectory'
  readonly file: LoadedFile
}

export interface BootstrapMemory {
  readonly sources: readonly MemorySource[]
  readonly problems: readonly MemoryProblem[]
  /** The directories whose files were looked at, outermost first (the user level excluded). */
  readonly directories: readonly string[]
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Directories from the repository root (or the filesystem root) down to `start`. */
export async function projectDirectories(start: string): Promise<string[]> {
  const dirs: string[] = []
  let dir = resolve(start)
  for (;;) {
    dirs.push(dir)
    if (await exists(join(dir, '.git'))) break
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return dirs.reverse()
}

export interface BootstrapOptions {
  readonly cwd: string
  readonly tauHome: string
  readonly home: string
  readonly names?: readonly string[]
  readonly maxDepth?: number
}

export async function loadBootstrapMemory(options: BootstrapOptions): Promise<BootstrapMemory> {
  const names = options.names ?? MEMORY_FILE_NAMES
  const problems: MemoryProblem[] = []
  const seen = new Set<string>()
  const sources: MemorySource[] = []
  const load = async (path: string, scope: MemorySource['scope']) => {
    const file = await loadMemoryFile(path, {
      home: options.home,
      seen,
      problems,
      ...(options.maxDepth !== undefined ? { maxDepth: options.maxDepth } : {}),
    })
    if (file) sources.push({ scope, file })
  }
  for (const name of names) await load(join(options.tauHome, name), 'user')
  const directories = await projectDirectories(options.cwd)
  for (const dir of directories) {
    for (const name of names) await load(join(dir, name), 'project')
  }
  return { sources, problems, directories }
}

/** Memory files of the directories between `root` (excluded) and `file`'s directory (included). */
export function subdirectoriesBetween(root: string, file: string): string[] {
  const rel = relative(root, dirname(file))
  if (rel === '' || rel.startsWith('..') || resolve(rel) === rel) return []
  const parts = rel.split(sep)
  return parts.map((_, i) => join(root, ...parts.slice(0, i + 1)))
}

/** The text of the memory section of the system prompt. */
export function memorySection(memory: BootstrapMemory): string | undefined {
  if (memory.sources.length === 0) return undefined
  const blocks: string[] = [
    '# Memory\nInstructions from memory files (user level first, then the project from its root down; later, more specific files take precedence where they disagree). Follow them.',
  ]
  for (const source of memory.sources) {
    for (const file of flatten(source.file)) blocks.push(fileBlock(file, source.scope))
  }
  return blocks.join('\n\n')
}

export function fileBlock(file: LoadedFile, scope: MemorySource['scope']): string {
  const what = file.importedBy ? `imported by ${file.importedBy}` : `${scope} instructions`
  return `Contents of ${file.path} (${what}):\n\n${file.content.trim()}`
}

/** `tau memory`: the files in load order, imports indented under their importer. */
export function formatMemory(memory: BootstrapMemory): string {
  const lines: string[] = []
  if (memory.sources.length === 0) lines.push('No memory files loaded.')
  else lines.push('Memory files, in the order they are loaded:')
  let n = 0
  const walk = (file: LoadedFile, scope: string) => {
    const indent = '  '.repeat(file.depth)
    const label = file.depth === 0 ? `${++n}. [${scope}] ` : '└ @import '
    lines.push(`  ${indent}${label}${file.path} (${file.content.length} chars)`)
    for (const child of file.imports) walk(child, scope)
  }
  for (const source of memory.sources) walk(source.file, source.scope)
  if (memory.problems.length > 0) {
    lines.push('', 'Problems:')
    for (const problem of memory.problems) lines.push(`  ${problem.kind}: ${problem.message}`)
  }
  lines.push('', 'Directories searched (outermost first):', ...memory.directories.map((d) => `  ${d}`))
  return `${lines.join('\n')}\n`
}
