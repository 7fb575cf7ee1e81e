/**
 * The file walk behind Glob and Grep: fast-glob for the patterns, with a file-system adapter that
 * drops what .gitignore files say to ignore as each directory is read. Ignored directories are
 * never descended into (node_modules costs nothing when it is ignored), and nested .gitignore
 * files apply below their own directory, as in git. `.git` itself is always skipped.
 *
 * The walk starts at a directory the environment has resolved (so inside the workspace) and never
 * follows symbolic links, so it stays inside. Where the environment's files are on the host
 * (`capabilities.filesOnHost`) it reads the disk directly; for any other environment it goes through `env.readdir` / `env.readFile`.
 */
import {
  closeSync,
  type Dirent,
  constants as fsConstants,
  readdir as fsReaddir,
  fstatSync,
  lstat,
  lstatSync,
  openSync,
  readSync,
} from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import type fg from 'fast-glob'
import type { Ignore } from 'ignore'
import type { Environment, FileStat } from '../sandbox/index.js'
import { insideRoots } from '../sandbox/index.js'
import { loadFastGlob, loadIgnore } from './lazy-deps.js'

/** Directories never walked into, whatever the ignore files say. */
const ALWAYS_SKIPPED = new Set(['.git', '.hg', '.svn'])
const IGNORE_CASE = process.platform === 'darwin' || process.platform === 'win32'

interface Rules {
  readonly base: string
  readonly matcher: Ignore
}

interface DirentLike {
  readonly name: string
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
}

type ReaddirCallback = (error: NodeJS.ErrnoException | null, entries: DirentLike[]) => void

const posix = (path: string) => (sep === '/' ? path : path.split(sep).join('/'))

function ignoredBy(chain: readonly Rules[], path: string, isDirectory: boolean): boolean {
  let ignored = false
  for (const { base, matcher } of chain) {
    const rel = posix(relative(base, path))
    if (!rel || rel.startsWith('..')) continue
    const result = matcher.test(isDirectory ? `${rel}/` : rel)
    if (result.ignored) ignored = true
    else if (result.unignored) ignored = false
  }
  return ignored
}

function direntOf(name: string, type: FileStat['type']): DirentLike {
  return {
    name,
    isFile: () => type === 'file',
    isDirectory: () => type === 'directory',
    isSymbolicLink: () => type === 'symlink',
  }
}

export interface WalkOptions {
  readonly env: Environment
  /** A real directory inside the workspace (from env.resolvePath). */
  readonly root: string
  /** fast-glob patterns, relative to root. */
  readonly patterns: readonly string[]
  /** fast-glob patterns of files to leave out. */
  readonly exclude?: readonly string[]
  /** Respect .gitignore files (default true). */
  readonly gitignore?: boolean
  readonly signal?: AbortSignal
  /**
   * Paths a deny rule covers (ToolContext.isDenied): never entered, read, yielded or counted,
   * whatever the root and the patterns.
   */
  readonly denied?: ((path: string) => boolean) | undefined
}

/** Reads files found by a walk: straight from disk where the files are on the host, else through env. */
export interface FileSource {
  /** The file's bytes, or undefined when it is larger than `maxBytes` (or gone, or unreadable). */
  read(path: string, maxBytes: number): Promise<Buffer | undefined>
  /**
   * The same, synchronously, where that is possible (the local disk). Reading many small files
   * this way is 2-4x faster than through the thread pool; callers yield to the event loop
   * between short batches so it stays responsive. The buffer is reused: it is valid only until
   * the next call.
   */
  readSync?(path: string, maxBytes: number): Buffer | undefined
  /** Modification time in ms (0 when unknown). */
  mtime(path: string): Promise<number>
  mtimeSync?(path: string): number
}

/**
 * Reads a whole file into a buffer reused from call to call (no allocation per file, so little
 * garbage): valid only until the next call. Most files fit the first read, so that is open, read,
 * close; larger ones are measured with fstat first.
 */
let scratch = Buffer.allocUnsafe(256 * 1024)
function readLocalSync(path: string, maxBytes: number): Buffer | undefined {
  let fd: number | undefined
  try {
    // O_NOFOLLOW: a file swapped for a symlink since the walk is not followed out.
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW)
    let length = readSync(fd, scratch, 0, Math.min(scratch.length, maxBytes + 1), 0)
    if (length < scratch.length && length <= maxBytes) return scratch.subarray(0, length)
    const { size } = fstatSync(fd)
    if (size > maxBytes) return undefined
    if (size >= scratch.length) {
      const bigger = Buffer.allocUnsafe(size + 1)
      scratch.copy(bigger, 0, 0, length)
      scratch = bigger
    }
    for (;;) {
      const read = readSync(fd, scratch, length, scratch.length - length, length)
      if (read === 0) break
      length += read
      if (length > maxBytes) return undefined
    }
    return scratch.subarray(0, length)
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

export function fileSource(env: Environment): FileSource {
  if (env.capabilities.filesOnHost) {
    return {
      readSync: readLocalSync,
      mtimeSync: (path) => lstatSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0,
      async read(path, maxBytes) {
        // O_NOFOLLOW: a file swapped for a symlink since the walk is not followed out.
        const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW).catch(() => undefined)
        if (!handle) return undefined
        try {
          const { size } = await handle.stat()
          if (size > maxBytes) return undefined
          return await handle.readFile()
        } catch {
          return undefined
        } finally {
          await handle.close()
        }
      },
      mtime: (path) => new Promise((resolve) => lstat(path, (error, s) => resolve(error ? 0 : s.mtimeMs))),
    }
  }
  return {
    async read(path, maxBytes) {
      try {
        const s = await env.stat(path)
        return s.size > maxBytes ? undefined : await env.readFile(path)
      } catch {
        return undefined
      }
    },
    mtime: (path) =>
      env.stat(path).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
  }
}

/** The .gitignore rules of the directories above the walk, up to the repository's top (or the workspace's edge). */
async function ancestorRules(
  env: Environment,
  root: string,
  exists: (path: string) => Promise<boolean>,
  load: (dir: string) => Promise<Rules[]>,
) {
  const dirs: string[] = []
  let dir = root
  for (;;) {
    dirs.unshift(dir)
    const isTop = await exists(join(dir, '.git'))
    const parent = dirname(dir)
    if (isTop || parent === dir || !insideRoots(parent, env.roots)) break
    dir = parent
  }
  const chain: Rules[] = []
  for (const d of dirs.slice(0, -1)) chain.push(...(await load(d)))
  return chain
}

/** The files under `root` matching the patterns, as absolute paths, in walk order. */
export async function* walkFiles(options: WalkOptions): AsyncGenerator<string> {
  const { env, root } = options
  // Files on the host at the same paths: read the disk directly (fast), and apply the
  // environment's own denyRead here, since the direct reads go round env.readFile's check. An
  // environment that cannot say what it denies (a wrapper that does not pass readDenied on) is
  // read through its own methods instead: fail closed.
  const policyDenied = env.readDenied?.bind(env)
  const local = env.capabilities.filesOnHost && policyDenied !== undefined
  const denied =
    policyDenied && options.denied
      ? (path: string) => policyDenied(path) || options.denied!(path)
      : (policyDenied ?? options.denied)
  const source = fileSource(env)
  const useGitignore = options.gitignore ?? true

  const readText = async (path: string): Promise<string | undefined> => {
    if (local) return readFile(path, 'utf8').catch(() => undefined)
    const data = await source.read(path, 1024 * 1024)
    return data?.toString('utf8')
  }
  const exists = (path: string) =>
    local
      ? new Promise<boolean>((resolve) => lstat(path, (error) => resolve(error === null)))
      : env.stat(path).then(
          () => true,
          () => false,
        )
  /** A directory's own rules: .git/info/exclude at a repository's top, then its .gitignore. */
  const rulesIn = async (dir: string, hint?: { gitignore: boolean; git: boolean }): Promise<Rules[]> => {
    const rules: Rules[] = []
    const isTop = hint ? hint.git : await exists(join(dir, '.git'))
    const exclude = isTop ? await readText(join(dir, '.git', 'info', 'exclude')) : undefined
    if (exclude) rules.push({ base: dir, matcher: loadIgnore()({ ignorecase: IGNORE_CASE }).add(exclude) })
    const text = (hint ? hint.gitignore : true) ? await readText(join(dir, '.gitignore')) : undefined
    if (text) rules.push({ base: dir, matcher: loadIgnore()({ ignorecase: IGNORE_CASE }).add(text) })
    return rules
  }

  const chains = new Map<string, Promise<{ chain: Rules[]; ignored: boolean }>>()
  chains.set(
    root,
    (async () => {
      if (!useGitignore) return { chain: [], ignored: false }
      const above = await ancestorRules(env, root, exists, (dir) => rulesIn(dir))
      // Searching inside a directory that is itself ignored (node_modules, say) was asked for
      // explicitly: as in ripgrep, the rules that ignore it do not empty it.
      const explicit = above.length > 0 && ignoredBy(above, root, true)
      return { chain: [...(explicit ? [] : above), ...(await rulesIn(root))], ignored: false }
    })(),
  )
  // A directory's rules: its parent's plus its own .gitignore; and whether the parent's rules ignore it.
  const chainOf = (
    dir: string,
    hint?: { gitignore: boolean; git: boolean },
  ): Promise<{ chain: Rules[]; ignored: boolean }> => {
    let found = chains.get(dir)
    // Never above the walk's root (a pattern with `..` must not lead the walk out).
    if (!found && !insideRoots(dir, [root])) return Promise.resolve({ chain: [], ignored: true })
    if (!found) {
      found = (async () => {
        const parent = await chainOf(dirname(dir))
        if (parent.ignored) return parent
        const ignored =
          ALWAYS_SKIPPED.has(dir.slice(dir.lastIndexOf(sep) + 1)) || ignoredBy(parent.chain, dir, true)
        if (ignored || !useGitignore) return { chain: parent.chain, ignored }
        const own = await rulesIn(dir, hint)
        return { chain: own.length > 0 ? [...parent.chain, ...own] : parent.chain, ignored }
      })()
      chains.set(dir, found)
    }
    return found
  }

  const baseReaddir = (dir: string, callback: ReaddirCallback) => {
    if (local) {
      fsReaddir(dir, { withFileTypes: true }, (error, entries: Dirent[]) => callback(error, entries ?? []))
      return
    }
    env.readdir(dir).then(
      (entries) =>
        callback(
          null,
          entries.map((entry) => direntOf(entry.name, entry.type)),
        ),
      (error: NodeJS.ErrnoException) => callback(error, []),
    )
  }

  const readdir = (dir: string, _options: unknown, callback: ReaddirCallback) => {
    baseReaddir(dir, (error, entries) => {
      if (error) return callback(error, [])
      const hint = {
        gitignore: entries.some((entry) => entry.name === '.gitignore'),
        git: entries.some((entry) => entry.name === '.git'),
      }
      chainOf(dir, hint).then(
        ({ chain, ignored }) => {
          if (ignored) return callback(null, [])
          callback(
            null,
            entries.filter((entry) => {
              const isDirectory = entry.isDirectory()
              if (isDirectory && ALWAYS_SKIPPED.has(entry.name)) return false
              if (denied?.(join(dir, entry.name))) return false
              return chain.length === 0 || !ignoredBy(chain, join(dir, entry.name), isDirectory)
            }),
          )
        },
        (chainError: NodeJS.ErrnoException) => callback(chainError, []),
      )
    })
  }

  const statAdapter = (
    path: string,
    callback: (error: NodeJS.ErrnoException | null, s?: unknown) => void,
  ) => {
    if (local) return lstat(path, callback)
    env.stat(path).then(
      (s) =>
        callback(null, {
          ...direntOf(s.path, s.type),
          size: s.size,
          mtimeMs: s.mtimeMs,
          mtime: new Date(s.mtimeMs),
          mode: s.mode,
        }),
      (error: NodeJS.ErrnoException) => callback(error),
    )
  }

  const adapter = {
    readdir,
    lstat: statAdapter,
    // Symbolic links are not followed, so stat is lstat.
    stat: statAdapter,
  } as unknown as fg.FileSystemAdapter

  const patterns = options.patterns as string[]
  const stream = loadFastGlob().stream(patterns, {
    cwd: root,
    onlyFiles: true,
    dot: true,
    followSymbolicLinks: false,
    suppressErrors: true,
    // One pattern gives each file once; fast-glob's own check costs a Set entry per file.
    unique: patterns.length > 1,
    ignore: [...(options.exclude ?? [])],
    fs: adapter,
  })
  const prefix = root.endsWith(sep) ? root : root + sep
  try {
    for await (const entry of stream as AsyncIterable<string | Buffer>) {
      if (options.signal?.aborted) return
      const rel = String(entry)
      // Defence in depth: whatever the pattern, nothing outside the root comes out.
      if (rel.startsWith('/') || rel === '..' || rel.startsWith('../') || rel.includes('/../')) continue
      const path = prefix + (sep === '/' ? rel : rel.split('/').join(sep))
      // Checked again here: the readdir filter does not see the root itself.
      if (denied?.(path)) continue
      yield path
    }
  } finally {
    ;(stream as unknown as { destroy(): void }).destroy()
  }
}
