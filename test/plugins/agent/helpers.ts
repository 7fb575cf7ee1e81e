/**
 * Test doubles for the agent loop: a `tools` plugin over the real registry with tools made by
 * defineTool, a `permissions` plugin whose decisions a test scripts, and a kernel with the
 * in-process scripted model.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { z } from 'zod'
import { definePlugin, type PluginEntry, type TauConfig } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  agentRuntimeRef,
} from '../../../plugins/agent/index.js'
import type {
  CliRules,
  PermissionBehavior,
  PermissionDecision,
  PermissionMode,
  PermissionProblem,
  PermissionRule,
  Permissions,
} from '../../../plugins/permissions/types.js'
import { permissionsRef } from '../../../plugins/permissions/types.js'
import providerScripted, {
  type ScriptedProvider,
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import { DefaultToolRegistry, defineTool } from '../../../plugins/tools/registry.js'
import { type Tool, toolRegistryRef } from '../../../plugins/tools/tool.js'

export type Decide = (tool: Tool, input: unknown) => PermissionDecision

export const allowAll: Decide = () => ({ behavior: 'allow', reason: 'allowed in the test' })

/** A permissions service whose decisions the test gives; it records what the agent did to it. */
export class FakePermissions implements Permissions {
  mode: PermissionMode = 'default'
  readonly added: Array<{ text: string; behavior: PermissionBehavior; persist?: string }> = []
  readonly decided: Array<{ tool: string; input: unknown }> = []
  /** What setCliRules() was given. */
  cli: CliRules | undefined
  constructor(private readonly decider: Decide) {}
  setMode(mode: PermissionMode): void {
    this.mode = mode
  }
  decide(tool: Tool, input: unknown): PermissionDecision {
    this.decided.push({ tool: tool.name, input })
    const kept = this.added.find(
      (rule) =>
        rule.behavior === 'allow' && (rule.text === tool.name || rule.text.startsWith(`${tool.name}(`)),
    )
    if (kept) {
      return {
        behavior: 'allow',
        reason: `allowed by ${kept.text}`,
        rule: { text: kept.text, behavior: 'allow', source: { scope: 'session' } },
      }
    }
    return this.decider(tool, input)
  }
  async addRule(
    text: string,
    behavior: PermissionBehavior,
    options?: { persist?: 'local' | 'project' | 'user' },
  ): Promise<void> {
    this.added.push({ text, behavior, ...(options?.persist ? { persist: options.persist } : {}) })
  }
  explain(): PermissionDecision {
    return { behavior: 'ask', reason: 'not in the double' }
  }
  rules(): readonly PermissionRule[] {
    return []
  }
  problems(): readonly PermissionProblem[] {
    return []
  }
  setCliRules(rules: CliRules): void {
    this.cli = rules
  }
  readonly directories: readonly string[] = []
}

/** A `Shell` tool (its permission target is the command) that records the commands it ran. */
export function shell(ran: string[]) {
  return defineTool({
    name: 'Shell',
    description: 'runs a command',
    input: z.object({ command: z.string() }),
    permissionTarget: (input) => input.command,
    async execute({ command }) {
      ran.push(command)
      return `ran ${command}`
    },
  })
}

export function toolsPlugin(tools: readonly Tool[]) {
  return definePlugin({
    name: 'tools',
    setup(ctx) {
      const registry = new DefaultToolRegistry()
      for (const tool of tools) registry.register(tool, 'tools')
      ctx.provide(toolRegistryRef, registry)
    },
  })
}

export function permissionsPlugin(decide: Decide, created: FakePermissions[]) {
  return definePlugin({
    name: 'permissions',
    setup(ctx) {
      ctx.provide(permissionsRef, () => {
        const permissions = new FakePermissions(decide)
        created.push(permissions)
        return permissions
      })
    },
  })
}

export interface Harness {
  readonly kernel: TestKernel
  readonly scripted: ScriptedProvider
  /** The permissions services created, one per session (empty without `decide`). */
  readonly permissions: FakePermissions[]
  /** A session in a kernel session scope (as a frontend would open it). */
  session(options?: AgentSessionOptions): AgentSession
  /** A run's events, in order. */
  run(
    session: AgentSession,
    prompt: string,
    options?: Parameters<AgentSession['run']>[1],
  ): Promise<AgentEvent[]>
}

export async function harness(
  options: {
    turns?: ScriptTurn[]
    tools?: Tool[]
    /** Without it there is no permissions plugin (the agent must fail closed). */
    decide?: Decide
    config?: TauConfig
    capabilities?: Record<string, unknown>
    plugins?: readonly PluginEntry[]
    cwd?: string
    /** TAU_HOME of the kernel (default: a new temp dir); the same one lets a second kernel resume. */
    tauHome?: string
  } = {},
): Promise<Harness> {
  const created: FakePermissions[] = []
  const kernel = await createTestKernel({
    plugins: [
      providers,
      providerScripted,
      toolsPlugin(options.tools ?? []),
      agent,
      ...(options.decide ? [permissionsPlugin(options.decide, created)] : []),
      ...(options.plugins ?? []),
    ],
    config: {
      model: 'scripted:test',
      ...options.config,
      providers: {
        scripted: { turns: options.turns ?? [], capabilities: options.capabilities ?? {} },
      },
    },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.tauHome ? { tauHome: options.tauHome } : {}),
  })
  // Stopped after the test it was made in (onTestFinished): a module-level afterEach would hold for
  // the first file of a worker only, since unit files share a worker's modules (isolate: false).
  onTestFinished(() => kernel.stop())
  const runtime = kernel.resolve(agentRuntimeRef)
  return {
    kernel,
    scripted: kernel.resolve(scriptedProviderRef),
    permissions: created,
    session: (sessionOptions = {}) =>
      runtime.createSession({
        scope: kernel.createSession(sessionOptions.cwd ? { cwd: sessionOptions.cwd } : {}),
        ...sessionOptions,
      }),
    run: (session, prompt, runOptions) => collect(session.run(prompt, runOptions)),
  }
}

export async function collect(events: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

export type EventOf<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>

export function ofType<T extends AgentEvent['type']>(events: readonly AgentEvent[], type: T): EventOf<T>[] {
  return events.filter((event): event is EventOf<T> => event.type === type)
}

export function resultOf(events: readonly AgentEvent[]): EventOf<'result'> {
  const last = events.at(-1)
  if (last?.type !== 'result') throw new Error(`the last event is ${last?.type}, not result`)
  return last
}

/** Text of the tool result for a call id in the tool-end events. */
export function toolText(events: readonly AgentEvent[], id: string): string {
  const end = ofType(events, 'tool-end').find((event) => event.id === id)
  if (!end) throw new Error(`no tool-end for ${id}`)
  return end.result.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

export async function tempDir(prefix = 'tau-agent-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** An environment whose file and process calls fail: for tests that only look at cwd and roots. */
export function stubEnvironment(cwd: string): Environment {
  const fail = () => Promise.reject(new Error('not in the stub environment'))
  return {
    kind: 'local',
    capabilities: { filesystemIsolation: false, network: 'host', pty: false, filesOnHost: true },
    roots: [cwd],
    cwd,
    resolvePath: fail,
    contains: fail,
    stat: fail,
    readFile: fail,
    writeFile: fail,
    readdir: fail,
    mkdir: fail,
    remove: fail,
    exec: fail,
    spawn: () => {
      throw new Error('not in the stub environment')
    },
    processEnv: () => ({}),
    dispose: async () => {},
  }
}
