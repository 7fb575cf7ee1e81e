/**
 * A node:fs error as an EnvironmentError: its kind from the errno code (not-found, not-a-file,
 * not-a-directory, else io) and a message naming the path as the caller gave it.
 */
import { EnvironmentError, type EnvironmentErrorKind } from './environment.js'

export const errno = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined

/** The error as an EnvironmentError about `path` (an EnvironmentError is returned as it is). */
export function wrapFsError(error: unknown, path: string): EnvironmentError {
  if (error instanceof EnvironmentError) return error
  const code = errno(error)
  const kinds: Record<string, EnvironmentErrorKind> = {
    ENOENT: 'not-found',
    EISDIR: 'not-a-file',
    ENOTDIR: 'not-a-directory',
  }
  const kind = (code ? kinds[code] : undefined) ?? 'io'
  const what: Record<EnvironmentErrorKind, string> = {
    'not-found': `'${path}' does not exist`,
    'not-a-file': `'${path}' is a directory, not a file`,
    'not-a-directory': `'${path}' is not a directory`,
    'outside-workspace': `'${path}' is outside the workspace`,
    denied: `'${path}' is denied by the sandbox policy`,
    io: `'${path}': ${error instanceof Error ? error.message : String(error)}`,
  }
  const wrapped = new EnvironmentError(kind, path, what[kind])
  ;(wrapped as { cause?: unknown }).cause = error
  return wrapped
}
