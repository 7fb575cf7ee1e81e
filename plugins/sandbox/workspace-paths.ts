/**
 * Real paths and the workspace rule. A path is resolved physically, the way the kernel opens it:
 * every existing component is followed through symlinks (dangling ones too, by reading the link),
 * `..` applies to the real parent, and the part that does not exist yet is appended as written.
 * The result is what tools then open, so what was checked is what is touched.
 */
import { realpathSync } from 'node:fs'
import { lstat, readlink, realpath } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, parse, resolve, sep } from 'node:path'

/** Linux allows 40 symlinks in one lookup; so do we. */
const MAX_LINKS = 40

class LinkLoopError extends Error {
  readonly code = 'ELOOP'
}

const errno = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined

const MISSING = new Set(['ENOENT', 'ENOTDIR'])

/** `~` and `~/x` to the home directory; anything else absolute against `base`, without normalizing. */
export function absoluteFrom(base: string, path: string): string {
  if (path === '~') return homedir()
  if (path.startsWith('~/')) return join(homedir(), path.slice(2))
  if (path === '') return base
  // Not path.resolve(): it would collapse `link/..` lexically, which the kernel does not.
  return isAbsolute(path) ? path : `${base}${base.endsWith(sep) ? '' : sep}${path}`
}

/**
 * The real path of an absolute path that may not exist yet (see the module comment). An existing
 * path is resolved synchronously (realpath(3), as the thread pool would call it): a few readlink
 * calls cost less than the pool's round trip, which on a loaded machine took 0.2 to 2 ms a call.
 * Anything else (missing, a loop, an error) takes the asynchronous way, which answers as before.
 */
export async function realPathOf(absolute: string, links = 0): Promise<string> {
  if (links === 0) {
    try {
      return realpathSync.native(absolute)
    } catch {
      // Answered below, where every error is sorted out.
    }
  }
  try {
    return await realpath(absolute)
  } catch (error) {
    const code = errno(error)
    if (code === 'ELOOP') throw new LinkLoopError(`too many levels of symbolic links: ${absolute}`)
    if (!code || !MISSING.has(code)) throw error
  }
  const { root } = parse(absolute)
  let current = root
  let missing = false
  for (const part of absolute.slice(root.length).split(sep)) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      current = dirname(current)
      continue
    }
    const next = join(current, part)
    if (missing) {
      current = next
      continue
    }
    let isLink: boolean
    try {
      isLink = (await lstat(next)).isSymbolicLink()
    } catch (error) {
      const code = errno(error)
      if (!code || !MISSING.has(code)) throw error
      missing = true
      current = next
      continue
    }
    if (!isLink) {
      current = next
      continue
    }
    if (links >= MAX_LINKS) throw new LinkLoopError(`too many levels of symbolic links: ${absolute}`)
    const target = await readlink(next)
    // A link's target is relative to the directory holding the link (which is real already).
    current = await realPathOf(isAbsolute(target) ? target : `${current}${sep}${target}`, links + 1)
    links++
  }
  return current
}

export function isLinkLoop(error: unknown): boolean {
  return error instanceof LinkLoopError
}

/** Synchronous, for roots at session creation: realpath, else the nearest existing parent's. */
export function realPathSyncOf(path: string): string {
  const absolute = resolve(path)
  try {
    return realpathSync.native(absolute)
  } catch {
    const parent = dirname(absolute)
    if (parent === absolute) return absolute
    return join(realPathSyncOf(parent), absolute.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)))
  }
}

/** Whether a real path is a root or below one. */
export function insideRoots(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep))
}
