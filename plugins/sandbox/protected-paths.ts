/**
 * What a confined command may never create or replace inside a writable root (tau's and git's
 * control files, protectedInRoot in policy.ts). Existing ones are mounted read-only; one that
 * does not exist cannot be mounted over, so it is looked at before and after each command: one
 * the command created is removed, one it replaced (renaming a parent away) is reported, and the
 * command's stderr says so. Shared by the bubblewrap and container environments.
 */
import { existsSync, lstatSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Logger } from '../../kernel/index.js'
import type { ExecResult } from './environment.js'
import { protectedInRoot } from './policy.js'

/** How a protected path looked before a command, to see whether the command replaced it. */
export interface Snapshot {
  readonly path: string
  readonly ino: number | undefined
}

/** The protected paths of a root that matter: `.git/*` only where the root is a git checkout. */
export function protectedPaths(root: string): string[] {
  const git = existsSync(join(root, '.git'))
  return protectedInRoot(root).filter((path) => git || !path.startsWith(join(root, '.git')))
}

/**
 * The protected paths of every root, and the denyWrite paths that do not exist yet (`missing`:
 * nothing can be mounted over them, so one a command creates is removed after it), as they are now.
 */
export function snapshotProtected(roots: readonly string[], missing: readonly string[] = []): Snapshot[] {
  const paths = [...roots.flatMap(protectedPaths), ...missing.filter((path) => !existsSync(path))]
  return [...new Set(paths)].map((path) => {
    try {
      return { path, ino: lstatSync(path).ino }
    } catch {
      return { path, ino: undefined }
    }
  })
}

/** After a command: removes what it created, reports what it replaced; the violations. */
export function checkProtected(before: readonly Snapshot[], logger?: Logger): string[] {
  const violations: string[] = []
  for (const { path, ino } of before) {
    let now: number | undefined
    try {
      now = lstatSync(path).ino
    } catch {
      now = undefined
    }
    if (ino === undefined && now !== undefined) {
      rmSync(path, { recursive: true, force: true })
      violations.push(
        `the command created ${path} (removed: sandbox.filesystem.denyWrite and tau's and git's control files are not writable in the sandbox)`,
      )
    } else if (ino !== undefined && now !== ino) {
      violations.push(`the command replaced or moved ${path} (a protected path; check ${dirname(path)})`)
    }
  }
  if (violations.length > 0) logger?.warn('sandbox violation', { violations })
  return violations
}

/** The result with the violations added to its stderr as `[sandbox] refused: ...` lines. */
export function withViolations(result: ExecResult, violations: readonly string[]): ExecResult {
  if (violations.length === 0) return result
  const note = violations.map((v) => `[sandbox] refused: ${v}`).join('\n')
  return { ...result, stderr: result.stderr ? `${result.stderr}\n${note}` : note }
}
