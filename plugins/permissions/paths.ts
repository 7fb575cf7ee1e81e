/**
 * Path facts for path rules: real paths (symlinks followed, through the nearest existing parent
 * for a file that does not exist yet), containment, and gitignore-pattern matching below a base.
 * Synchronous on purpose: decide() is synchronous, and these are a few stat calls.
 */
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path'
import type { Ignore } from 'ignore'

// ignore (~5 ms to import) is loaded when the first path rule is matched, not at every start;
// it is CommonJS, so a synchronous require keeps decide() synchronous. (The tools plugin loads
// it the same way for its own searches; a plugin does not reach into another's helpers.)
const require = createRequire(import.meta.url)
type IgnoreFactory = typeof import('ignore')
let ignoreFactory: IgnoreFactory | undefined
function loadIgnore(): IgnoreFactory {
  if (!ignoreFactory) {
    const module = require('ignore') as IgnoreFactory | { default: IgnoreFactory }
    ignoreFactory = typeof module === 'function' ? module : module.default
  }
  return ignoreFactory
}

/** The real path of `path`, or undefined when it cannot be known (a symlink loop, no access). */
export function realPathOf(path: string): string | undefined {
  try {
    return realpathSync.native(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined
    const parent = dirname(path)
    if (parent === path) return undefined
    const real = realPathOf(parent)
    return real === undefined ? undefined : join(real, basename(path))
  }
}

/** `path` relative to `base` with '/' separators, or undefined when it is not inside base. */
export function relativeInside(base: string, path: string): string | undefined {
  const rel = relative(base, path)
  if (rel === '') return ''
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined
  return sep === '/' ? rel : rel.split(sep).join('/')
}

export function isInside(root: string, path: string): boolean {
  return relativeInside(root, path) !== undefined
}

// Case-insensitive file systems are the default on macOS and Windows.
const IGNORE_CASE = process.platform === 'darwin' || process.platform === 'win32'

/** A compiled path rule: a base directory and an optional gitignore pattern below it. */
export class PathMatcher {
  private readonly matcher: Ignore | undefined
  private realBase: string | null | undefined = null

  constructor(
    readonly base: string,
    readonly pattern: string | null,
  ) {
    this.matcher = pattern === null ? undefined : loadIgnore()({ ignorecase: IGNORE_CASE }).add(pattern)
  }

  /**
   * Whether the rule covers a target. `strict` (allow rules) compares real paths only, so a
   * symlink inside an allowed folder that points elsewhere is not allowed; otherwise (deny and
   * ask rules) either the path as written or its real path matching is enough.
   */
  matches(target: { readonly path: string; readonly real: string | undefined }, strict: boolean): boolean {
    if (this.realBase === null) this.realBase = realPathOf(this.base)
    const real =
      target.real !== undefined && this.realBase !== undefined
        ? this.test(this.realBase, target.real, strict)
        : false
    if (strict) return real
    return real || this.test(this.base, target.path, strict)
  }

  private test(base: string, path: string, strict: boolean): boolean {
    const rel = relativeInside(base, path)
    if (rel === undefined) return false
    if (this.matcher === undefined) return true
    if (rel === '') return false
    // A directory-only pattern (`build/`) also covers the directory itself when not strict.
    return this.matcher.ignores(rel) || (!strict && this.matcher.ignores(`${rel}/`))
  }
}
