/**
 * How a tau tool call reads in an editor: its ACP kind (the icon and grouping the editor shows),
 * a short title, the files it touches (so the editor can follow along), and its content (a diff
 * for edits, the result's text otherwise). Pure functions: the session maps events with them,
 * and session/load maps the log's messages with the same ones.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path'
import type { ToolCallContent, ToolCallLocation, ToolKind } from '@agentclientprotocol/sdk'
import type { ToolResultPart } from '../../kernel/index.js'

const KINDS: Readonly<Record<string, ToolKind>> = {
  Read: 'read',
  Edit: 'edit',
  MultiEdit: 'edit',
  Write: 'edit',
  NotebookEdit: 'edit',
  Glob: 'search',
  Grep: 'search',
  LS: 'search',
  Bash: 'execute',
  BashOutput: 'execute',
  KillShell: 'execute',
  WebFetch: 'fetch',
  WebSearch: 'fetch',
  TodoWrite: 'think',
  Task: 'think',
  ExitPlanMode: 'switch_mode',
}

export function toolKind(name: string): ToolKind {
  return KINDS[name] ?? 'other'
}

function record(input: unknown): Readonly<Record<string, unknown>> {
  return typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {}
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function short(value: string, max = 80): string {
  const line = value.split('\n')[0] ?? ''
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** The path a file tool works on (`file_path`, `path`, `notebook_path`), absolute. */
function filePath(input: Readonly<Record<string, unknown>>, cwd: string): string | undefined {
  const path = text(input.file_path) ?? text(input.notebook_path) ?? text(input.path)
  if (path === undefined) return undefined
  return isAbsolute(path) ? path : resolvePath(cwd, path)
}

export function toolTitle(name: string, input: unknown, cwd: string): string {
  const args = record(input)
  const path = filePath(args, cwd)
  switch (name) {
    case 'Bash':
      return text(args.description) ?? `\`${short(text(args.command) ?? 'command')}\``
    case 'Read':
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
      return path ? `${name} ${path}` : name
    case 'Grep':
      return `grep ${JSON.stringify(text(args.pattern) ?? '')}${path ? ` in ${path}` : ''}`
    case 'Glob':
      return `glob ${text(args.pattern) ?? ''}${path ? ` in ${path}` : ''}`
    case 'LS':
      return `ls ${path ?? cwd}`
    case 'WebFetch':
      return `fetch ${text(args.url) ?? ''}`
    case 'TodoWrite':
      return 'update the plan'
    case 'Task':
      return text(args.description) ?? 'subagent'
    case 'ExitPlanMode':
      return 'ready to code?'
    default:
      return name
  }
}

export function toolLocations(name: string, input: unknown, cwd: string): ToolCallLocation[] {
  const args = record(input)
  const path = filePath(args, cwd)
  if (path === undefined || name === 'Bash') return []
  const line = typeof args.offset === 'number' ? args.offset : undefined
  return [{ path, ...(line !== undefined ? { line } : {}) }]
}

/** What a call is about to do, for the permission dialog: the diff an edit or a write makes. */
export function proposedContent(name: string, input: unknown, cwd: string): ToolCallContent[] {
  const args = record(input)
  const path = filePath(args, cwd)
  if (path === undefined) return []
  if (name === 'Write' && typeof args.content === 'string')
    return [{ type: 'diff', path, oldText: null, newText: args.content }]
  if (name === 'Edit' && typeof args.old_string === 'string' && typeof args.new_string === 'string')
    return [{ type: 'diff', path, oldText: args.old_string, newText: args.new_string }]
  if (name === 'MultiEdit' && Array.isArray(args.edits)) {
    return args.edits.flatMap((edit: unknown) => {
      const e = record(edit)
      return typeof e.old_string === 'string' && typeof e.new_string === 'string'
        ? [{ type: 'diff' as const, path, oldText: e.old_string, newText: e.new_string }]
        : []
    })
  }
  return []
}

/** A result's text, as the model saw it (images as a note). */
export function resultText(result: ToolResultPart): string {
  return result.content
    .map((part) => (part.type === 'text' ? part.text : `[${part.type}]`))
    .join('\n')
    .trim()
}

/** The content a finished call shows: its diff for a successful edit, else its result's text. */
export function finishedContent(
  name: string,
  input: unknown,
  result: ToolResultPart,
  cwd: string,
): ToolCallContent[] {
  if (!result.isError) {
    const diff = proposedContent(name, input, cwd)
    if (diff.length > 0) return diff
  }
  const body = resultText(result)
  return body === '' ? [] : [{ type: 'content', content: { type: 'text', text: body } }]
}
