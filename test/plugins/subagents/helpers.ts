/**
 * What the subagents tests share: the tools the scripted model calls (Echo, Secret, Write, each
 * noting its execution in `executed`), a kernel with the real agent, permissions and subagents
 * plugins served by one scripted model (setup()), the Task call turns, and the cleanup after each
 * test (kernels stopped, temp directories removed: cleanup()).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { z } from 'zod'
import type { TauConfig, TauPlugin } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  type AgentEvent,
  type AgentSessionOptions,
  agentRuntimeRef,
} from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import subagents from '../../../plugins/subagents/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { tempDir, toolsPlugin } from '../agent/helpers.js'

export const executed: string[] = []
export const echo = defineTool({
  name: 'Echo',
  description: 'Echoes text',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: true },
  permissionTarget: ({ text }) => text,
  execute: async ({ text }) => {
    executed.push(`Echo:${text}`)
    return `echo ${text}`
  },
})
export const secret = defineTool({
  name: 'Secret',
  description: 'Reads a secret',
  input: z.object({}),
  annotations: { readOnly: true },
  execute: async () => {
    executed.push('Secret')
    return 'the secret'
  },
})
export const write = defineTool({
  name: 'Write',
  description: 'Writes',
  input: z.object({ text: z.string() }),
  annotations: { readOnly: false },
  execute: async ({ text }) => {
    executed.push(`Write:${text}`)
    return 'written'
  },
})

export const kernels: TestKernel[] = []
export const dirs: Array<{ remove(): Promise<void> }> = []

/**
 * After the test setup() ran in: its kernels stopped, its directories removed, `executed` empty.
 * Registered by setup() for its own test (onTestFinished), not as a module-level afterEach: unit
 * files share a worker's modules (isolate: false), so such a hook would be registered in the
 * first file of a worker that imports this module only.
 */
async function cleanup() {
  executed.length = 0
  await Promise.all(kernels.splice(0).map((kernel) => kernel.stop()))
  await Promise.all(dirs.splice(0).map((dir) => dir.remove()))
}

export async function setup(options: {
  turns: ScriptTurn[]
  config?: TauConfig
  files?: Record<string, string>
  extraPlugins?: readonly TauPlugin[]
}) {
  onTestFinished(cleanup)
  const cwd = await tempDir('tau-subagents-cwd-')
  const home = await tempDir('tau-subagents-home-')
  dirs.push(cwd, home)
  for (const [path, text] of Object.entries(options.files ?? {})) {
    const file = path.startsWith('~/') ? join(home.dir, path.slice(2)) : join(cwd.dir, path)
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, text)
  }
  const kernel = await createTestKernel({
    plugins: [
      providers,
      providerScripted,
      toolsPlugin([echo, secret, write]),
      agent,
      permissions,
      subagents,
      ...(options.extraPlugins ?? []),
    ],
    config: {
      model: 'scripted:test',
      providers: { scripted: { turns: options.turns } },
      subagents: {
        agents: {
          reader: { description: 'Reads with Echo only', tools: ['Echo'], prompt: 'READER PROMPT' },
          other: {
            description: 'Runs on another model',
            tools: ['Echo'],
            model: 'scripted:other',
            prompt: '',
          },
        },
      },
      ...options.config,
    },
    cwd: cwd.dir,
    tauHome: home.dir,
  })
  kernels.push(kernel)
  const runtime = kernel.resolve(agentRuntimeRef)
  const session = (o: AgentSessionOptions = {}) =>
    runtime.createSession({ scope: kernel.createSession({ cwd: cwd.dir }), ...o })
  return { kernel, runtime, session, scripted: kernel.resolve(scriptedProviderRef), cwd: cwd.dir }
}

export const task = (id: string, subagent_type: string, prompt = 'do it'): ScriptTurn => ({
  toolCalls: [{ id, name: 'Task', input: { description: 'a task', prompt, subagent_type } }],
})

/** A Task call 't' (general-purpose) whose child makes one call, then reports; then the parent ends. */
export const childCalls = (name: string, input: Record<string, unknown>, id = 'w'): ScriptTurn[] => [
  task('t', 'general-purpose'),
  { toolCalls: [{ id, name, input }] },
  { text: 'the child is done' },
  { text: 'ok' },
]

/** The child events of the Task call `id`: first-class events of the parent's stream, tagged with the call. */
export function childEvents(events: readonly AgentEvent[], id: string): AgentEvent[] {
  return events.filter((event) => event.parentToolCallId === id)
}

export const toolNames = (request: { tools?: readonly { name: string }[] }) =>
  (request.tools ?? []).map((t) => t.name)
