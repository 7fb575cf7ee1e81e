/** Shared set-up for the permissions tests: tools shaped like the built-ins, and a kernel around them. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PassThrough } from 'node:stream'
import { z } from 'zod'
import { cliCommandsRef, definePlugin } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import permissions, { type Permissions, permissionsRef } from '../../../plugins/permissions/index.js'
import { DefaultToolRegistry, defineTool } from '../../../plugins/tools/registry.js'
import { type Tool, toolRegistryRef } from '../../../plugins/tools/tool.js'

const run = async () => 'done'
const filePath = z.object({ file_path: z.string() })

export const Read = defineTool({
  name: 'Read',
  description: 'reads a file',
  input: filePath,
  annotations: { readOnly: true },
  access: 'read',
  permissionTarget: (input) => input.file_path,
  execute: run,
}) as Tool
export const Grep = defineTool({
  name: 'Grep',
  description: 'searches files',
  input: z.object({ pattern: z.string(), path: z.string().optional() }),
  annotations: { readOnly: true },
  access: 'read',
  permissionTarget: (input) => input.path,
  execute: run,
}) as Tool
export const Edit = defineTool({
  name: 'Edit',
  description: 'edits a file',
  input: z.object({ file_path: z.string(), old_string: z.string(), new_string: z.string() }),
  access: 'edit',
  permissionTarget: (input) => input.file_path,
  execute: run,
}) as Tool
export const Write = defineTool({
  name: 'Write',
  description: 'writes a file',
  input: z.object({ file_path: z.string(), content: z.string() }),
  annotations: { destructive: true },
  access: 'edit',
  permissionTarget: (input) => input.file_path,
  execute: run,
}) as Tool
export const Bash = defineTool({
  name: 'Bash',
  description: 'runs a command',
  input: z.object({ command: z.string().min(1), timeout: z.number().optional() }),
  permissionTarget: (input) => input.command,
  execute: run,
}) as Tool
export const WebFetch = defineTool({
  name: 'WebFetch',
  description: 'fetches a URL',
  input: z.object({ url: z.string(), prompt: z.string() }),
  annotations: { readOnly: true, openWorld: true },
  permissionTarget: (input) => input.url,
  execute: run,
}) as Tool
export const TodoWrite = defineTool({
  name: 'TodoWrite',
  description: 'keeps a task list',
  input: z.object({ todos: z.array(z.string()) }),
  execute: run,
}) as Tool
export const McpCreateIssue = defineTool({
  name: 'mcp__github__create_issue',
  description: 'creates an issue',
  input: z.object({ title: z.string() }),
  execute: run,
}) as Tool
export const McpListIssues = defineTool({
  name: 'mcp__github__list_issues',
  description: 'lists issues',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: run,
}) as Tool

export const ALL_TOOLS = [Read, Grep, Edit, Write, Bash, WebFetch, TodoWrite, McpCreateIssue, McpListIssues]

/** Stands in for the tools plugin (written elsewhere): a registry with the tools above. */
export function fakeTools(tools: readonly Tool[] = ALL_TOOLS) {
  return definePlugin({
    name: 'tools',
    setup(ctx) {
      const registry = new DefaultToolRegistry()
      for (const tool of tools) registry.register(tool, ctx.name)
      ctx.provide(toolRegistryRef, registry)
    },
  })
}

export interface Setup {
  readonly kernel: TestKernel
  readonly permissions: Permissions
  /** The project directory (and the session's cwd). */
  readonly dir: string
  readonly tauHome: string
  cleanup(): Promise<void>
}

export interface SetupOptions {
  config?: Record<string, unknown>
  /** Settings files: project `.tau/settings.json`, local `.tau/settings.local.json`, user `<tauHome>/settings.json`; a string is written as is. */
  files?: { project?: unknown; local?: unknown; user?: unknown }
  tools?: readonly Tool[] | false
  /** Files to create in the project before the kernel starts. */
  before?: (dir: string, tauHome: string) => Promise<void>
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2))
}

export async function makeDirs(): Promise<{ dir: string; tauHome: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tau-perm-project-'))
  const tauHome = await mkdtemp(join(tmpdir(), 'tau-perm-home-'))
  return { dir, tauHome }
}

export async function setupPermissions(options: SetupOptions = {}): Promise<Setup> {
  const { dir, tauHome } = await makeDirs()
  const cleanup = () =>
    Promise.all([
      rm(dir, { recursive: true, force: true }),
      rm(tauHome, { recursive: true, force: true }),
    ]).then(() => undefined)
  try {
    const files = options.files ?? {}
    if (files.project !== undefined) await writeJson(join(dir, '.tau', 'settings.json'), files.project)
    if (files.local !== undefined) await writeJson(join(dir, '.tau', 'settings.local.json'), files.local)
    if (files.user !== undefined) await writeJson(join(tauHome, 'settings.json'), files.user)
    await options.before?.(dir, tauHome)
    const plugins =
      options.tools === false ? [permissions] : [fakeTools(options.tools ?? ALL_TOOLS), permissions]
    const kernel = await createTestKernel({
      plugins,
      config: options.config === undefined ? {} : { permissions: options.config },
      cwd: dir,
      tauHome,
    })
    const session = kernel.createSession()
    return {
      kernel,
      permissions: session.resolve(permissionsRef),
      dir,
      tauHome,
      cleanup: async () => {
        await kernel.stop()
        await cleanup()
      },
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}

/** Runs a `tau` subcommand the permissions plugin provides; returns its exit code and output. */
export async function runCommand(
  kernel: TestKernel,
  name: string,
  args: string[] = [],
  options: Record<string, unknown> = {},
): Promise<{ code: number | undefined | void; out: string }> {
  const command = kernel.resolve(cliCommandsRef).find((c) => c.name === name)
  if (!command) throw new Error(`no command '${name}'`)
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk) => {
    out += chunk
  })
  const code = await command.run({
    args,
    options,
    stdout,
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    signal: new AbortController().signal,
  })
  return { code, out }
}

/** Shorthands of the decide tests: the decision on one call of Bash, Read, Edit or WebFetch. */
export const bash = (p: Permissions, command: string) => p.decide(Bash, { command })
export const read = (p: Permissions, file_path: string) => p.decide(Read, { file_path })
export const edit = (p: Permissions, file_path: string) =>
  p.decide(Edit, { file_path, old_string: 'a', new_string: 'b' })
export const fetch = (p: Permissions, url: string) => p.decide(WebFetch, { url, prompt: 'summarize' })
