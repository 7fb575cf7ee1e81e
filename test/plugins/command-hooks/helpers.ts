/**
 * A real kernel for command-hook tests: providers, the in-process scripted model, the sandbox,
 * the built-in tools, permissions, the agent and command-hooks; hook scripts are real files in
 * the temporary project, run by /bin/sh.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { onTestFinished } from 'vitest'
import type { TauConfig, TauPlugin } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  type AgentEvent,
  type AgentSessionOptions,
  agentRuntimeRef,
} from '../../../plugins/agent/index.js'
import commandHooks from '../../../plugins/command-hooks/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted, {
  type ScriptedProvider,
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools from '../../../plugins/tools/index.js'

export interface Project {
  readonly dir: string
  /** Writes a file (relative to the project), making folders; `mode` for scripts. */
  write(path: string, text: string, mode?: number): Promise<string>
}

export async function project(): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'tau-hooks-'))
  // Removed after the test it was made in (onTestFinished): // a module-level afterEach would hold for the first file of a worker only: unit files share a
  // worker's modules (isolate: false).
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return {
    dir,
    async write(path, text, mode) {
      const file = join(dir, path)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, text)
      if (mode !== undefined) await chmod(file, mode)
      return file
    },
  }
}

export interface Harness {
  readonly kernel: TestKernel
  readonly scripted: ScriptedProvider
  /** Runs one prompt in a new session and returns its events. */
  run(prompt: string, options?: AgentSessionOptions): Promise<AgentEvent[]>
  /** Warnings the command-hooks plugin logged. */
  warnings(): string[]
}

export async function harness(options: {
  project: Project
  turns: ScriptTurn[]
  hooks?: unknown
  config?: TauConfig
  /** More plugins (session, subagents). */
  plugins?: readonly TauPlugin[]
}): Promise<Harness> {
  const kernel = await createTestKernel({
    cwd: options.project.dir,
    logLevel: 'debug',
    plugins: [
      providers,
      providerScripted,
      sandbox,
      tools,
      permissions,
      agent,
      commandHooks,
      ...(options.plugins ?? []),
    ],
    config: {
      model: 'scripted:test',
      ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
      ...options.config,
      providers: { scripted: { turns: options.turns } },
    } as TauConfig,
  })
  onTestFinished(() => kernel.stop())
  const runtime = kernel.resolve(agentRuntimeRef)
  return {
    kernel,
    scripted: kernel.resolve(scriptedProviderRef),
    async run(prompt, sessionOptions = {}) {
      const session = runtime.createSession({ scope: kernel.createSession(), ...sessionOptions })
      const events: AgentEvent[] = []
      try {
        for await (const event of session.run(prompt)) events.push(event)
      } finally {
        await session.close()
      }
      return events
    },
    warnings: () =>
      kernel.logs
        .filter((record) => record.name === 'command-hooks' && record.level === 'warn')
        .map((record) => record.message),
  }
}

/** A hook group for one event: `{ Event: [{ matcher, hooks: [{ type: 'command', command, timeout }] }] }`. */
export function hook(event: string, command: string, options: { matcher?: string; timeout?: number } = {}) {
  return {
    [event]: [
      {
        ...(options.matcher === undefined ? {} : { matcher: options.matcher }),
        hooks: [
          {
            type: 'command',
            command,
            ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
          },
        ],
      },
    ],
  }
}

export const bash = (id: string, command: string): ScriptTurn => ({
  toolCalls: [{ id, name: 'Bash', input: { command } }],
})

type Of<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>

export function ofType<T extends AgentEvent['type']>(events: readonly AgentEvent[], type: T): Of<T>[] {
  return events.filter((event): event is Of<T> => event.type === type)
}

export function resultOf(events: readonly AgentEvent[]): Of<'result'> {
  const last = events.at(-1)
  if (last?.type !== 'result') throw new Error(`the last event is ${last?.type}, not result`)
  return last
}

export function toolText(events: readonly AgentEvent[], id: string): string {
  const end = ofType(events, 'tool-end').find((event) => event.id === id)
  if (!end) throw new Error(`no tool-end for ${id}`)
  return end.result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n')
}

/** The text the model was sent in the last message of request `index`. */
export function lastUserText(scripted: ScriptedProvider, index: number): string {
  const messages = scripted.requests[index]?.messages ?? []
  const last = messages.at(-1)
  if (!last) return ''
  if (typeof last.content === 'string') return last.content
  return JSON.stringify(last.content)
}
