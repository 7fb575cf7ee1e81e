/** Paths as the file tools show them, and their failures as tool results. */
import { isAbsolute, relative, sep } from 'node:path'
import { type Environment, EnvironmentError } from '../sandbox/index.js'
import type { ToolOutput } from './tool.js'
import { toolUseError } from './tool-errors.js'

/** Relative to the working directory when inside it (shorter for the model), else absolute. */
export function displayPath(env: Environment, real: string): string {
  if (real === env.cwd) return '.'
  const rel = relative(env.cwd, real)
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : real
}

/** A refusal before anything was done, wrapped in `<tool_use_error>` as Claude Code's file tools word theirs. */
export function errorOutput(text: string, display?: unknown): ToolOutput {
  return {
    content: [{ type: 'text', text: toolUseError(text) }],
    isError: true,
    ...(display !== undefined ? { display } : {}),
  }
}

/** An environment error (outside the workspace, not found, ...) as a result the model can act on. */
export function failure(error: unknown): ToolOutput {
  if (error instanceof EnvironmentError) {
    const hint =
      error.kind === 'outside-workspace'
        ? ' Only files inside the workspace can be used.'
        : error.kind === 'not-found'
          ? ' Check the path (Glob or LS can find it).'
          : ''
    const message = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`
    return errorOutput(message + hint)
  }
  if (error instanceof Error && error.name === 'AbortError') return errorOutput('Cancelled.')
  throw error
}
