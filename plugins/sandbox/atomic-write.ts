/**
 * Writing a file of the workspace atomically and inside the roots: the data goes to a temporary
 * file in the target's directory, then is renamed over the target (one filesystem, so the rename
 * is atomic), keeping an existing file's mode. On Linux the parent directory is opened once and
 * everything after goes through it (/proc/self/fd/N), so a directory swapped for a symlink since
 * the path was resolved cannot redirect the write. An error means nothing was written.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, constants as fsConstants } from 'node:fs'
import {
  chmod,
  type FileHandle,
  mkdir,
  open,
  readlink,
  realpath,
  rename,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { EnvironmentError } from './environment.js'
import { errno, wrapFsError } from './fs-errors.js'
import { insideRoots } from './workspace-paths.js'

/** Linux: an opened directory is reachable as /proc/self/fd/N, which writePinned relies on. */
const PINNED_DIRS = process.platform === 'linux' && existsSync('/proc/self/fd')

/**
 * Writes `data` to `real` (the resolved, checked real path of `path`, which messages name), a
 * file inside `roots`.
 */
export async function writeInside(
  path: string,
  real: string,
  data: string | Buffer,
  roots: readonly string[],
): Promise<void> {
  const dir = dirname(real)
  let mode: number | undefined
  try {
    const existing = await stat(real)
    if (existing.isDirectory()) {
      throw new EnvironmentError('not-a-file', path, `'${path}' is a directory, not a file`)
    }
    mode = existing.mode & 0o7777
  } catch (error) {
    if (error instanceof EnvironmentError) throw error
    if (errno(error) !== 'ENOENT') throw wrapFsError(error, path)
  }
  const tempName = `.${basename(real)}.tau-${randomBytes(6).toString('hex')}.tmp`
  if (PINNED_DIRS) return writePinned(path, dir, basename(real), tempName, data, mode, roots)
  // Same directory as the target, so rename() is atomic (one filesystem).
  const temp = join(dir, tempName)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(temp, data, { flag: 'wx', mode: mode ?? 0o666 })
    // writeFile's mode passes through the umask; an existing file's mode is restored exactly.
    if (mode !== undefined) await chmod(temp, mode)
    // The parent swapped for a link since it was resolved: give up before the rename. (A swap
    // between this check and the rename is not seen here; Linux takes writePinned instead.)
    if ((await realpath(dir)) !== dir) {
      await unlink(temp).catch(() => {})
      throw outside(path, dir)
    }
    await rename(temp, real)
  } catch (error) {
    await unlink(temp).catch(() => {})
    if (error instanceof EnvironmentError) throw error
    throw wrapFsError(error, path)
  }
}

/**
 * The write on Linux: the parent directory is opened once and everything after goes through
 * /proc/self/fd/N (openat and renameat in effect), so a directory on the path swapped for a
 * symlink after resolvePath cannot redirect the temporary file or the rename. The opened
 * directory is checked to be inside the roots before the temporary file is created and again
 * before the rename; missing parents are created one at a time, each opened without following
 * a link. On a refusal the temporary file is removed: an error means nothing was written.
 */
async function writePinned(
  path: string,
  dir: string,
  name: string,
  tempName: string,
  data: string | Buffer,
  mode: number | undefined,
  roots: readonly string[],
): Promise<void> {
  const parent = await openDirectoryInside(path, dir, roots)
  const at = `/proc/self/fd/${parent.fd}`
  const temp = `${at}/${tempName}`
  let created = false
  try {
    await writeFile(temp, data, { flag: 'wx', mode: mode ?? 0o666 })
    created = true
    if (mode !== undefined) await chmod(temp, mode)
    await checkPinned(path, at, roots)
    await rename(temp, `${at}/${name}`)
    created = false
  } catch (error) {
    if (created) await unlink(temp).catch(() => {})
    if (error instanceof EnvironmentError) throw error
    throw wrapFsError(error, path)
  } finally {
    await parent.close()
  }
}

/** Opens `dir` (creating what is missing) as a directory that is inside the roots now. */
async function openDirectoryInside(path: string, dir: string, roots: readonly string[]): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY)
  } catch (error) {
    const code = errno(error)
    if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(dir) === dir) throw wrapFsError(error, path)
    const above = await openDirectoryInside(path, dirname(dir), roots)
    const child = `/proc/self/fd/${above.fd}/${basename(dir)}`
    try {
      await mkdir(child).catch((mkdirError: unknown) => {
        if (errno(mkdirError) !== 'EEXIST') throw mkdirError
      })
      // O_NOFOLLOW: a link put there since is not followed.
      handle = await open(child, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW)
    } catch (mkdirError) {
      throw wrapFsError(mkdirError, path)
    } finally {
      await above.close()
    }
  }
  try {
    await checkPinned(path, `/proc/self/fd/${handle.fd}`, roots)
  } catch (error) {
    await handle.close()
    throw error
  }
  return handle
}

/** Where an opened directory is now (the kernel knows, whatever was renamed): inside the roots? */
async function checkPinned(path: string, at: string, roots: readonly string[]): Promise<void> {
  const now = await readlink(at).catch(() => undefined)
  // A removed directory reads as '/x (deleted)', which is inside no root.
  if (now === undefined || !insideRoots(now, roots)) throw outside(path, now ?? at)
}

function outside(path: string, real: string): EnvironmentError {
  return new EnvironmentError(
    'outside-workspace',
    path,
    `'${path}' is outside the workspace: its directory is now '${real}' (a directory on the path was replaced while writing); nothing was written`,
  )
}
