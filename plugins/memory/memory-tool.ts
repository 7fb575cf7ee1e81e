/**
 * The `memory` tool: Anthropic's memory-tool commands (view, create, str_replace, insert, delete,
 * rename) over a memory directory. The model addresses files as `/memories/...` (as in Anthropic's
 * tool); relative paths are taken inside the directory too.
 *
 * Confinement: the directory is the tool's own root, narrower than the workspace. A path with a
 * `..` segment is refused before anything is touched; then the path is resolved to its real path
 * through the session's environment (symlinks followed, workspace rules applied) and must stay
 * inside the real memory directory, so a symlink pointing out of it is refused too.
 */
import { isAbsolute, join, relative, sep } from 'node:path'
import { z } from 'zod'
import type { Tool, ToolContext, ToolOutput } from '../tools/index.js'
import { defineTool } from '../tools/index.js'

export const VIRTUAL_ROOT = '/memories'

const input = z.discriminatedUnion('command', [
  z.object({
    command: z.literal('view'),
    path: z.string(),
    view_range: z.tuple([z.number().int(), z.number().int()]).optional(),
  }),
  z.object({ command: z.literal('create'), path: z.string(), file_text: z.string() }),
  z.object({ command: z.literal('str_replace'), path: z.string(), old_str: z.string(), new_str: z.string() }),
  z.object({
    command: z.literal('insert'),
    path: z.string(),
    insert_line: z.number().int(),
    insert_text: z.string(),
  }),
  z.object({ command: z.literal('delete'), path: z.string() }),
  z.object({ command: z.literal('rename'), old_path: z.string(), new_path: z.string() }),
])
export type MemoryCommand = z.infer<typeof input>

/**
 * The JSON Schema models see: one flat object (the command, and every command's fields), as
 * Anthropic's memory tool has it. The union above still validates each call; a top-level
 * `oneOf`/`anyOf` is refused by the Anthropic API ("input_schema does not support oneOf").
 */
export const MEMORY_INPUT_SCHEMA = {
  type: 'object',
  properties: {
    command: {
      type: 'string',
      enum: ['view', 'create', 'str_replace', 'insert', 'delete', 'rename'],
      description: 'The operation to perform.',
    },
    path: { type: 'string', description: 'The file or directory (all commands but rename).' },
    view_range: {
      type: 'array',
      items: { type: 'integer' },
      minItems: 2,
      maxItems: 2,
      description: 'view: [start, end] lines (end -1 for the rest).',
    },
    file_text: { type: 'string', description: 'create: the file contents.' },
    old_str: { type: 'string', description: 'str_replace: the text to replace (exactly once).' },
    new_str: { type: 'string', description: 'str_replace: the replacement.' },
    insert_line: { type: 'integer', description: 'insert: the line after which to insert (0: the top).' },
    insert_text: { type: 'string', description: 'insert: the text to insert.' },
    old_path: { type: 'string', description: 'rename: the current path.' },
    new_path: { type: 'string', description: 'rename: the new path.' },
  },
  required: ['command'],
  additionalProperties: false,
} as const

export const MEMORY_TOOL_DESCRIPTION = `Your memory directory, kept across sessions: notes, decisions, what you learned about this project. Paths start with ${VIRTUAL_ROOT}.

Commands:
- view: list a directory (two levels) or show a file with line numbers; view_range [start, end] shows lines start..end (end -1 for the rest).
- create: create a file with file_text (refused if it exists).
- str_replace: replace old_str, which must occur exactly once, with new_str.
- insert: insert insert_text after line insert_line (0 for the top).
- delete: delete a file or directory.
- rename: move old_path to new_path.

Look at ${VIRTUAL_ROOT} at the start of a task for earlier progress; record what you learn as you go, since the conversation may be cut or end at any time.`

class MemoryError extends Error {}

const fail = (text: string): ToolOutput => ({ isError: true, content: [{ type: 'text', text }] })
const ok = (text: string, display?: unknown): ToolOutput => ({
  content: [{ type: 'text', text }],
  ...(display === undefined ? {} : { display }),
})

export interface MemoryToolOptions {
  /** The memory directory (absolute). */
  readonly dir: string
  readonly maxFileBytes?: number
}

const inside = (root: string, path: string) => path === root || path.startsWith(root + sep)

export function createMemoryTool(options: MemoryToolOptions): Tool<MemoryCommand> {
  const maxBytes = options.maxFileBytes ?? 1_048_576

  /** The lexical part: a path the model wrote -> the relative path inside the directory. */
  const relativeOf = (written: string): string => {
    if (written.includes('\0')) throw new MemoryError(`invalid path: ${JSON.stringify(written)}`)
    let rest = written.replace(/\\/g, '/')
    if (rest === VIRTUAL_ROOT || rest === `${VIRTUAL_ROOT}/`) return ''
    if (rest.startsWith(`${VIRTUAL_ROOT}/`)) rest = rest.slice(VIRTUAL_ROOT.length + 1)
    else if (isAbsolute(rest) || rest.startsWith('/')) {
      throw new MemoryError(
        `the path ${written} is outside the memory directory: paths start with ${VIRTUAL_ROOT}`,
      )
    }
    const parts = rest.split('/').filter((p) => p !== '' && p !== '.')
    if (parts.includes('..')) {
      throw new MemoryError(`the path ${written} is refused: '..' is not allowed in memory paths`)
    }
    return parts.join('/')
  }

  /** The real path, after symlinks; refused when it leaves the memory directory. */
  const realOf = async (
    env: ToolContext['env'],
    written: string,
  ): Promise<{ real: string; root: string; shown: string }> => {
    const rel = relativeOf(written)
    let root: string
    let real: string
    try {
      root = await env.resolvePath(options.dir)
      real = await env.resolvePath(join(options.dir, rel))
    } catch (error) {
      throw new MemoryError(`the path ${written} is refused: ${(error as Error).message}`)
    }
    if (!inside(root, real)) {
      throw new MemoryError(
        `the path ${written} is refused: it leads outside the memory directory (a symbolic link?)`,
      )
    }
    const within = relative(root, real).split(sep).join('/')
    return { real, root, shown: within === '' ? VIRTUAL_ROOT : `${VIRTUAL_ROOT}/${within}` }
  }

  const statOf = async (env: ToolContext['env'], path: string) => {
    try {
      return await env.stat(path)
    } catch {
      return undefined
    }
  }

  const readText = async (env: ToolContext['env'], path: string, shown: string): Promise<string> => {
    const info = await statOf(env, path)
    if (!info) throw new MemoryError(`The path ${shown} does not exist.`)
    if (info.type === 'directory') throw new MemoryError(`${shown} is a directory, not a file.`)
    if (info.size > maxBytes) throw new MemoryError(`${shown} is larger than ${maxBytes} bytes.`)
    return (await env.readFile(path)).toString('utf8')
  }

  const numbered = (lines: readonly string[], first: number) =>
    lines.map((line, i) => `${String(first + i).padStart(6)}\t${line}`).join('\n')

  async function listing(env: ToolContext['env'], dir: string, shown: string): Promise<string> {
    const out: string[] = []
    const walk = async (path: string, label: string, level: number) => {
      const entries = (await env.readdir(path)).filter(
        (e) => !e.name.startsWith('.') && e.name !== 'node_modules',
      )
      entries.sort((a, b) => (a.name < b.name ? -1 : 1))
      for (const entry of entries) {
        const child = join(path, entry.name)
        const childLabel = `${label}/${entry.name}`
        const info = await statOf(env, child)
        out.push(`${formatSize(info?.size ?? 0)}\t${childLabel}${entry.type === 'directory' ? '/' : ''}`)
        if (entry.type === 'directory' && level < 2) await walk(child, childLabel, level + 1)
      }
    }
    await walk(dir, shown, 1)
    return `Files and directories in ${shown} (two levels, hidden entries left out):\n${out.length > 0 ? out.join('\n') : '(empty)'}`
  }

  async function run(command: MemoryCommand, env: ToolContext['env']): Promise<ToolOutput> {
    // The directory exists from the first use on.
    await env.mkdir(options.dir)
    switch (command.command) {
      case 'view': {
        const { real, shown } = await realOf(env, command.path)
        const info = await statOf(env, real)
        if (!info) return fail(`The path ${shown} does not exist.`)
        if (info.type === 'directory') return ok(await listing(env, real, shown))
        const lines = (await readText(env, real, shown)).split('\n')
        if (command.view_range) {
          const [start, end] = command.view_range
          const last = end === -1 ? lines.length : end
          if (start < 1 || start > lines.length || last < start || last > lines.length) {
            return fail(
              `Invalid view_range [${start}, ${end}]: ${shown} has ${lines.length} lines (1-based, end -1 for the rest).`,
            )
          }
          return ok(`${shown}:\n${numbered(lines.slice(start - 1, last), start)}`)
        }
        return ok(`${shown}:\n${numbered(lines, 1)}`)
      }
      case 'create': {
        const { real, shown } = await realOf(env, command.path)
        if (real === (await env.resolvePath(options.dir)))
          return fail('Cannot create the memory directory itself.')
        if (await statOf(env, real))
          return fail(`Error: File ${shown} already exists. Use str_replace or delete it first.`)
        if (Buffer.byteLength(command.file_text) > maxBytes)
          return fail(`The text is larger than ${maxBytes} bytes.`)
        await env.writeFile(real, command.file_text)
        return ok(`File created successfully at: ${shown}`, {
          type: 'memory',
          command: 'create',
          path: shown,
        })
      }
      case 'str_replace': {
        const { real, shown } = await realOf(env, command.path)
        const text = await readText(env, real, shown)
        const count = command.old_str === '' ? 0 : text.split(command.old_str).length - 1
        if (count === 0) {
          return fail(`No replacement was performed: old_str did not appear verbatim in ${shown}.`)
        }
        if (count > 1) {
          const at: number[] = []
          text.split('\n').forEach((line, i) => {
            if (line.includes(command.old_str.split('\n')[0]!)) at.push(i + 1)
          })
          return fail(
            `No replacement was performed: old_str occurs ${count} times in ${shown} (lines ${at.join(', ')}). Make it unique.`,
          )
        }
        const updated = text.replace(command.old_str, () => command.new_str)
        await env.writeFile(real, updated)
        const startLine = text.slice(0, text.indexOf(command.old_str)).split('\n').length
        const lines = updated.split('\n')
        const from = Math.max(1, startLine - 2)
        const to = Math.min(lines.length, startLine + command.new_str.split('\n').length + 1)
        return ok(
          `The memory file has been edited. Lines ${from}-${to} now read:\n${numbered(lines.slice(from - 1, to), from)}`,
          {
            type: 'memory',
            command: 'str_replace',
            path: shown,
          },
        )
      }
      case 'insert': {
        const { real, shown } = await realOf(env, command.path)
        const text = await readText(env, real, shown)
        const lines = text.split('\n')
        // A trailing newline leaves an empty last element: it is not a line of its own.
        const count = text.endsWith('\n') ? lines.length - 1 : lines.length
        if (command.insert_line < 0 || command.insert_line > count) {
          return fail(
            `Invalid insert_line ${command.insert_line}: it must be between 0 and ${count} for ${shown}.`,
          )
        }
        const inserted = command.insert_text.replace(/\n$/, '').split('\n')
        lines.splice(command.insert_line, 0, ...inserted)
        await env.writeFile(real, lines.join('\n'))
        return ok(`The text was inserted after line ${command.insert_line} of ${shown}.`, {
          type: 'memory',
          command: 'insert',
          path: shown,
        })
      }
      case 'delete': {
        const { real, root, shown } = await realOf(env, command.path)
        if (real === root) return fail('Cannot delete the memory directory itself.')
        if (!(await statOf(env, real))) return fail(`The path ${shown} does not exist.`)
        await env.remove(real)
        return ok(`Deleted ${shown}.`, { type: 'memory', command: 'delete', path: shown })
      }
      case 'rename': {
        const from = await realOf(env, command.old_path)
        const to = await realOf(env, command.new_path)
        if (from.real === from.root || to.real === to.root)
          return fail('Cannot rename the memory directory itself.')
        if (inside(from.real, to.real)) return fail(`Cannot move ${from.shown} into itself.`)
        const info = await statOf(env, from.real)
        if (!info) return fail(`The path ${from.shown} does not exist.`)
        if (await statOf(env, to.real)) return fail(`The destination ${to.shown} already exists.`)
        if (info.type === 'directory') {
          // The environment has no rename: copy the tree, then remove the old one.
          await copyTree(env, from.real, to.real)
        } else {
          await env.writeFile(to.real, await env.readFile(from.real))
        }
        await env.remove(from.real)
        return ok(`Renamed ${from.shown} to ${to.shown}.`, {
          type: 'memory',
          command: 'rename',
          path: to.shown,
          from: from.shown,
        })
      }
    }
  }

  return defineTool({
    name: 'memory',
    description: MEMORY_TOOL_DESCRIPTION,
    input,
    jsonSchema: MEMORY_INPUT_SCHEMA,
    annotations: { readOnly: false, destructive: true, idempotent: false },
    // Only the memory directory is touched, and never outside it: no file permission rules apply.
    permissionTarget: (value) => ('path' in value ? value.path : value.old_path),
    async execute(command, ctx) {
      try {
        return await run(command, ctx.env)
      } catch (error) {
        if (error instanceof MemoryError) return fail(`Error: ${error.message}`)
        throw error
      }
    },
  })
}

async function copyTree(env: ToolContext['env'], from: string, to: string): Promise<void> {
  await env.mkdir(to)
  for (const entry of await env.readdir(from)) {
    const source = join(from, entry.name)
    const target = join(to, entry.name)
    if (entry.type === 'directory') await copyTree(env, source, target)
    else if (entry.type === 'file') await env.writeFile(target, await env.readFile(source))
  }
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)}K`
  return `${(bytes / 1024 / 1024).toFixed(1)}M`
}
