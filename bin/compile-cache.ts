/**
 * The launcher's code cache for the command's body (bin/tau.ts, docs/config.md "Compile cache").
 * V8 compiles the 1.7 MB body at every start unless it is handed the code it compiled last time
 * (`vm.Script`'s `cachedData`). A code cache is executable code, so it is read only from a
 * directory that no other user can write, and anything unexpected means: run without it, quietly.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'

/** What became of the cache in this run; `TAU_DEBUG_COMPILE_CACHE=1` prints it to stderr. */
export type CacheState = 'off' | 'refused' | 'miss' | 'hit' | 'rejected'

/** Entries kept in the directory (other tau versions or Node versions of the same user). */
const KEEP = 4

/**
 * The per-user directory: `$XDG_CACHE_HOME/tau`, else `~/.cache/tau`, else `<tmpdir>/tau-<uid>`.
 * Not under TAU_HOME: the cache depends only on the bundle and Node, and a fresh TAU_HOME (every
 * test, every CI job's) should still find it. Undefined when it is not safe to use.
 */
export function cacheDirectory(env: NodeJS.ProcessEnv): { dir?: string; refused?: string } {
  if (env.TAU_NO_COMPILE_CACHE === '1' || env.TAU_NO_COMPILE_CACHE === 'true') return {}
  const uid = process.getuid?.()
  // Without POSIX owners (Windows) there is nothing to check a directory against: no cache.
  if (uid === undefined) return {}
  const xdg = env.XDG_CACHE_HOME
  const home = env.HOME
  const dir =
    xdg && isAbsolute(xdg)
      ? join(xdg, 'tau')
      : home && isAbsolute(home)
        ? join(home, '.cache', 'tau')
        : join(tmpdir(), `tau-${uid}`)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const refused = unsafe(dir, uid, false) ?? unsafe(dirname(dir), uid, true)
    return refused ? { refused: `${refused}` } : { dir }
  } catch (error) {
    return { refused: `${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}` }
  }
}

/**
 * Why `path` may not hold a code cache, or undefined: it must be a real directory (not a
 * symlink), owned by this user, writable by no one else. Its parent may also be root's, or
 * shared but sticky (/tmp), where no one else can rename the directory away.
 */
function unsafe(path: string, uid: number, parent: boolean): string | undefined {
  const stat = lstatSync(path)
  if (stat.isSymbolicLink()) return `${path} is a symbolic link`
  if (!stat.isDirectory()) return `${path} is not a directory`
  if (stat.uid !== uid && !(parent && stat.uid === 0)) return `${path} belongs to uid ${stat.uid}`
  if ((stat.mode & 0o022) !== 0 && !(parent && (stat.mode & 0o1000) !== 0))
    return `${path} is writable by group or others (mode ${(stat.mode & 0o7777).toString(8)})`
  return undefined
}

/**
 * The cache file's name: the body's identity (its bytes, or the build's hash of them with the
 * file's size, inode and change time: bin/tau.ts; an identity, not a security check: the
 * directory is the boundary), the Node version and architecture, and the V8 flags a run may set,
 * since V8 rejects code compiled under other flags.
 */
export function cacheName(body: Buffer | string, env: NodeJS.ProcessEnv): string {
  // Loaded here, not at the launcher's start: `tau --version` needs none of this.
  const { createHash } = process.getBuiltinModule('node:crypto')
  const flags = createHash('sha1')
    .update(`${process.execArgv.join(' ')}\0${env.NODE_OPTIONS ?? ''}`)
    .digest('hex')
    .slice(0, 8)
  const content = createHash('sha1').update(body).digest('hex').slice(0, 20)
  return `cli-${content}-${process.version}-${process.arch}-${flags}.v8cache`
}

/** The cache file's bytes, or undefined when it is absent or not a plain file of this user's. */
export function readCache(file: string): Buffer | undefined {
  let fd: number | undefined
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined
    return readMapped(fd, stat.size)
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Writes the cache under a fresh temporary name and renames it into place (a reader sees the old
 * file or the whole new one), then removes the oldest other entries, here and in Node's compile
 * cache (`node/`). Errors are swallowed.
 */
export function writeCache(dir: string, name: string, data: Buffer): void {
  const file = join(dir, name)
  const temp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`
  try {
    writeFileSync(temp, data, { mode: 0o600, flag: 'wx' })
    renameSync(temp, file)
  } catch {
    try {
      unlinkSync(temp)
    } catch {
      // never written
    }
    return
  }
  try {
    const entries = readdirSync(dir)
      .filter((entry) => /\.v8cache(\..*\.tmp)?$/.test(entry) && entry !== name)
      .map((entry) => ({ entry, mtime: lstatSync(join(dir, entry)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
    const caches = entries.filter(({ entry }) => entry.endsWith('.v8cache'))
    // A temporary file an hour old is a killed writer's, not one still being written.
    const stale = entries.filter(
      ({ entry, mtime }) => entry.endsWith('.tmp') && mtime < Date.now() - 3_600_000,
    )
    for (const { entry } of [...caches.slice(KEEP - 1), ...stale]) unlinkSync(join(dir, entry))
  } catch {
    // another run pruned it first
  }
  pruneNodeCache(join(dir, 'node'))
}

/**
 * Node 22+ keeps its compile cache (bin/tau.ts) in one folder per Node version, architecture and
 * V8 flags, `<version>-<arch>-<V8 cache tag>-<uid>`, and never removes one: this keeps the current
 * Node's folder and the newest others, KEEP in all. Pruned here because tau's own entry is written
 * when its name changes, as it does with the Node version or the V8 flags: never on a run that
 * had its cache. Only the user's own directories go; a symbolic link or a file is left alone.
 */
function pruneNodeCache(nodeDir: string): void {
  try {
    const uid = process.getuid?.()
    const top = lstatSync(nodeDir)
    if (uid === undefined || !top.isDirectory() || top.uid !== uid) return
    const { cachedDataVersionTag } = process.getBuiltinModule('node:v8')
    const current = `${process.version}-${process.arch}-${cachedDataVersionTag().toString(16).padStart(8, '0')}-${uid}`
    const folders = readdirSync(nodeDir)
      .filter((entry) => entry !== current)
      .map((entry) => ({ entry, stat: lstatSync(join(nodeDir, entry)) }))
      .filter(({ stat }) => stat.isDirectory() && stat.uid === uid)
      .sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs)
    for (const { entry } of folders.slice(KEEP - 1))
      rmSync(join(nodeDir, entry), { recursive: true, force: true })
  } catch {
    // absent (Node 20, or no module loaded yet), or another run pruned it first
  }
}

/**
 * The file's bytes (`size` of them, from its start) in memory that V8 maps for itself rather than
 * asks of malloc: a resizable ArrayBuffer's, which V8 reserves and commits with mmap. The
 * launcher's two big reads (the 2 MB body, the 1.4 MB code cache) are garbage once the body is
 * compiled. Freed through malloc, a block that size makes glibc raise its mmap and trim thresholds
 * to match (they follow the largest mmapped block freed): from then on, up to twice that much
 * free memory stays in every malloc arena, TurboFan's on V8's worker threads too, which was
 * 5 MiB of a 100-turn run's peak RSS (docs/benchmarks.md, "the young generation"). Reads until
 * the end or `size` bytes, whichever is first.
 */
export function readMapped(fd: number, size: number): Buffer {
  // ES2024's resizable ArrayBuffer (V8 has it since Node 20), which this project's lib predates.
  const Resizable = ArrayBuffer as unknown as new (
    length: number,
    options: { maxByteLength: number },
  ) => ArrayBuffer
  const bytes = Buffer.from(new Resizable(size, { maxByteLength: Math.max(size, 1) }))
  let done = 0
  while (done < size) {
    const read = readSync(fd, bytes, done, size - done, done)
    if (read === 0) break
    done += read
  }
  return done === size ? bytes : bytes.subarray(0, done)
}
