/**
 * The read-before-write rule. Read records each file's modification time and size in the session's
 * tool state; Write, Edit and MultiEdit refuse an existing file that was not read in this session,
 * or that changed on disk since (another program, the user, a Bash command), so the model never
 * overwrites what it has not seen. A successful write records the new state, so edits can follow
 * one another without reading again.
 */
import { EnvironmentError, type FileStat } from '../sandbox/index.js'
import type { ToolContext, ToolState } from './tool.js'

/** The tool-state key: a map from real path to what the file was when last read or written. */
export const FILE_READS_KEY = 'files.read'

interface Seen {
  readonly mtimeMs: number
  readonly size: number
}

function seenFiles(state: ToolState): Map<string, Seen> {
  let seen = state.get<Map<string, Seen>>(FILE_READS_KEY)
  if (!seen) {
    seen = new Map()
    state.set(FILE_READS_KEY, seen)
  }
  return seen
}

/** Records a file as seen by the model, as it is now. */
export function recordSeen(state: ToolState, stat: FileStat): void {
  seenFiles(state).set(stat.path, { mtimeMs: stat.mtimeMs, size: stat.size })
}

/**
 * Records a file just written. The write succeeded, so a failing stat (the path changed since,
 * e.g. a directory on it was swapped for a link) must not turn it into an error reported after
 * writing: the file is forgotten instead, so the next edit reads it first.
 */
export async function recordWritten(ctx: ToolContext, path: string): Promise<void> {
  try {
    recordSeen(ctx.state, await ctx.env.stat(path))
  } catch {
    seenFiles(ctx.state).delete(path)
  }
}

/** Why an existing file may not be written now, or undefined when it may. */
export function writeRefusal(state: ToolState, stat: FileStat, shown: string): string | undefined {
  const seen = seenFiles(state).get(stat.path)
  if (!seen) {
    return `${shown} already exists and has not been read in this session. Read it first, then write or edit it.`
  }
  if (seen.mtimeMs !== stat.mtimeMs || seen.size !== stat.size) {
    return `${shown} has changed on disk since it was read (modified by someone or something else). Read it again before writing, so no change is lost.`
  }
  return undefined
}

/** The file's stat, or undefined when it does not exist (other failures are thrown). */
export async function statIfExists(path: string, ctx: ToolContext): Promise<FileStat | undefined> {
  try {
    return await ctx.env.stat(path)
  } catch (error) {
    if (error instanceof EnvironmentError && error.kind === 'not-found') return undefined
    throw error
  }
}
