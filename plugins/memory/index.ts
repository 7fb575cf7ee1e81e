/**
 * The `memory` plugin: what the agent knows before it starts and keeps across sessions.
 * - Bootstrap memory: TAU.md / AGENTS.md / CLAUDE.md (user level, then the project from the
 *   repository root down) with their @imports, in the system prompt; a subdirectory's files
 *   added to the result of the first Read of a file under it.
 * - Working memory: the `memory` tool over a memory directory.
 * - Progress notes: a progress file shown at session start, kept up to date by the agent.
 */
import { realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { z } from 'zod'
import { cliCommandsRef, definePlugin, defineService } from '../../kernel/index.js'
import { agentHooksRef } from '../agent/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { addMemory, type MemoryScope } from './add-memory.js'
import {
  type BootstrapMemory,
  fileBlock,
  formatMemory,
  loadBootstrapMemory,
  memorySection,
  subdirectoriesBetween,
} from './bootstrap.js'
import { flatten, type LoadedFile, loadMemoryFile, MAX_IMPORT_DEPTH, type MemoryProblem } from './imports.js'
import { createMemoryTool, VIRTUAL_ROOT } from './memory-tool.js'

export { addMemory, type MemoryPaths, type MemoryScope, memoryFileFor } from './add-memory.js'
export {
  type BootstrapMemory,
  fileBlock,
  formatMemory,
  loadBootstrapMemory,
  MEMORY_FILE_NAMES,
  type MemorySource,
  memorySection,
  projectDirectories,
  subdirectoriesBetween,
} from './bootstrap.js'
export {
  findImports,
  flatten,
  type LoadedFile,
  loadMemoryFile,
  MAX_IMPORT_DEPTH,
  type MemoryProblem,
  resolveImport,
  stripCodeSpans,
} from './imports.js'
export { createMemoryTool, MEMORY_TOOL_DESCRIPTION, type MemoryCommand, VIRTUAL_ROOT } from './memory-tool.js'

export const memoryConfig = z.strictObject({
  /** Put the bootstrap memory files in the system prompt. */
  files: z.boolean().default(true),
  /** File names looked for in each directory, in this order. */
  names: z.array(z.string().min(1)).min(1).default(['TAU.md', 'AGENTS.md', 'CLAUDE.md']),
  /** Hops of @imports followed (at most 5). */
  maxImportDepth: z.number().int().min(0).max(MAX_IMPORT_DEPTH).default(MAX_IMPORT_DEPTH),
  /** Add a subdirectory's memory files to the first Read of a file under it. */
  subdirectories: z.boolean().default(true),
  /** What `~/` means in @imports (default: the user's home directory). */
  homeDir: z.string().optional(),
  tool: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The memory directory, relative to the project directory. */
      directory: z.string().default('.tau/memory'),
    })
    .prefault({}),
  progress: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Relative to the project directory. */
      file: z.string().default('.tau/progress.md'),
      /** Longer progress files are cut (head kept) in the prompt. */
      maxChars: z.number().int().positive().default(20_000),
    })
    .prefault({}),
})
export type MemoryConfig = z.infer<typeof memoryConfig>

export interface MemoryService {
  /** The bootstrap memory as a session in `cwd` (default: the kernel's cwd) would load it. */
  load(cwd?: string): Promise<BootstrapMemory>
  /** Appends a line to the scope's TAU.md (the terminal's `#` input). Returns the file. */
  addMemory(text: string, scope: MemoryScope): Promise<string>
  /** The memory tool's directory (absolute). */
  readonly memoryDir: string
  /** The progress file (absolute). */
  readonly progressFile: string
}

export const memoryServiceRef = defineService<MemoryService>('memory.service', {
  description: 'Memory files, the memory directory and the progress file.',
})

export function progressSection(
  file: string,
  shown: string,
  content: string | undefined,
  maxChars: number,
): string {
  const intro = `# Progress notes (shift handoff)
Long work spans sessions. ${shown} holds the notes the previous session left: what the goal is, what is done, what is in progress, what is next, and anything the next session must know (failing tests, decisions, traps). Start from them. Before you finish, or when you stop at a good point, update ${shown} (Read it, then Edit or Write) so the next session can pick up where you left off; keep it short and current rather than a log.`
  if (content === undefined || content.trim() === '') {
    return `${intro}\n\nThere is no progress file yet (${file}). Create it when the work will take more than this session.`
  }
  const cut =
    content.length > maxChars
      ? `${content.slice(0, maxChars)}\n[... ${content.length - maxChars} characters cut ...]`
      : content
  return `${intro}\n\nContents of ${file}:\n\n${cut.trim()}`
}

export const MEMORY_TOOL_NOTE = `# Memory directory
You have a memory directory (${VIRTUAL_ROOT}, through the memory tool) that lasts across sessions. At the start of a task, view it for notes from earlier work. As you work, record what would help later (facts about this project, decisions, progress); the conversation may end or be cut at any time, and what is not written down is lost. Keep it organised: update or delete notes that are wrong or out of date.`

interface SessionMemory {
  cwd: string
  /** Real paths of memory files already in the context. */
  seen: Set<string>
  /** Directories whose memory files were looked for. */
  checked: Set<string>
}

/**
 * Synchronous: it runs for every Read (postToolUse), and realpath(3) of a file just read costs
 * less than the thread pool's round trip, which was up to 0.4 ms a Read on a loaded machine.
 */
function realOrSelf(path: string): string {
  try {
    return realpathSync.native(path)
  } catch {
    return path
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

export default definePlugin({
  name: 'memory',
  description: 'Memory files (TAU.md, AGENTS.md, CLAUDE.md), the memory tool, progress notes',
  dependsOn: ['agent', 'tools'],
  config: memoryConfig,
  setup(ctx) {
    const { config } = ctx
    const { projectDir, tauHome } = ctx.paths
    const home = config.homeDir ?? homedir()
    const memoryDir = resolve(projectDir, config.tool.directory)
    const progressFile = resolve(projectDir, config.progress.file)
    const load = (cwd: string = ctx.paths.cwd) =>
      loadBootstrapMemory({ cwd, tauHome, home, names: config.names, maxDepth: config.maxImportDepth })
    const service: MemoryService = {
      load,
      addMemory: (text, scope) => addMemory(text, scope, { projectDir, tauHome }),
      memoryDir,
      progressFile,
    }
    ctx.provide(memoryServiceRef, service)

    const unregister = config.tool.enabled
      ? ctx.resolve(toolRegistryRef).register(createMemoryTool({ dir: memoryDir }), ctx.name)
      : undefined

    const sessions = new Map<string, SessionMemory>()
    const report = (problems: readonly MemoryProblem[]) => {
      for (const problem of problems)
        ctx.logger.warn(`memory file: ${problem.message}`, { kind: problem.kind })
    }
    const hooks = ctx.hooksOf(agentHooksRef)

    hooks.systemPrompt.tapPromise(async (prompt) => {
      const cwd = realOrSelf(prompt.cwd)
      const session: SessionMemory = { cwd, seen: new Set(), checked: new Set() }
      sessions.set(prompt.sessionId, session)
      const added: Array<{ id: string; text: string }> = []
      if (config.files) {
        const memory = await load(cwd)
        report(memory.problems)
        for (const source of memory.sources)
          for (const file of flatten(source.file)) session.seen.add(file.path)
        for (const dir of memory.directories) session.checked.add(dir)
        const text = memorySection(memory)
        if (text) added.push({ id: 'memory', text })
      }
      if (config.tool.enabled) added.push({ id: 'memory-tool', text: MEMORY_TOOL_NOTE })
      if (config.progress.enabled) {
        const shown = relative(projectDir, progressFile) || progressFile
        added.push({
          id: 'progress',
          text: progressSection(
            progressFile,
            shown,
            await readOptional(progressFile),
            config.progress.maxChars,
          ),
        })
      }
      const ids = new Set(added.map((s) => s.id))
      return { ...prompt, sections: [...prompt.sections.filter((s) => !ids.has(s.id)), ...added] }
    })

    if (config.files && config.subdirectories) {
      // A subdirectory's memory files join the context with the first Read of a file under it:
      // they are added to that Read's result, after the file's content.
      hooks.postToolUse.tapPromise(async (call) => {
        if (call.toolName !== 'Read' || call.output.isError) return call
        const session = sessions.get(call.sessionId)
        const path = (call.input as { file_path?: unknown } | undefined)?.file_path
        if (!session || typeof path !== 'string') return call
        const file = realOrSelf(resolve(session.cwd, path))
        const problems: MemoryProblem[] = []
        const blocks: string[] = []
        for (const dir of subdirectoriesBetween(session.cwd, file)) {
          if (session.checked.has(dir)) continue
          session.checked.add(dir)
          for (const name of config.names) {
            const loaded = await loadMemoryFile(join(dir, name), {
              home,
              seen: session.seen,
              problems,
              maxDepth: config.maxImportDepth,
            })
            if (loaded) for (const f of flatten(loaded)) blocks.push(fileBlock(f, 'subdirectory'))
          }
        }
        report(problems)
        if (blocks.length === 0) return call
        const text = `<system-reminder>\nMemory files for the directory of this file, loaded now because a file under it was read. Follow them for work in that directory.\n\n${blocks.join('\n\n')}\n</system-reminder>`
        return {
          ...call,
          output: { ...call.output, content: [...call.output.content, { type: 'text', text }] },
        }
      })
    }

    hooks.sessionEnd.tapPromise(async ({ sessionId }) => {
      sessions.delete(sessionId)
    })

    ctx.provide(cliCommandsRef, {
      name: 'memory',
      description: 'show the memory files loaded into the system prompt, in order, with their imports',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options, stdout }) {
        const memory = await load(ctx.paths.cwd)
        if (options.json) {
          stdout.write(
            `${JSON.stringify(
              {
                files: memory.sources.map((s) => ({ scope: s.scope, ...tree(s.file) })),
                problems: memory.problems,
                directories: memory.directories,
                memoryDir,
                progressFile,
              },
              null,
              2,
            )}\n`,
          )
          return 0
        }
        stdout.write(formatMemory(memory))
        stdout.write(`\nMemory directory (memory tool): ${memoryDir}\nProgress file: ${progressFile}\n`)
        return 0
      },
    })

    return () => {
      unregister?.()
      sessions.clear()
    }
  },
})

interface Tree {
  path: string
  chars: number
  imports: Tree[]
}

function tree(file: LoadedFile): Tree {
  return { path: file.path, chars: file.content.length, imports: file.imports.map(tree) }
}
