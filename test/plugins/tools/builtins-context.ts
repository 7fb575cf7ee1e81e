/**
 * Test helpers for the Bash, WebFetch and TodoWrite tests: a ToolContext over a real temporary
 * workspace and the real local environment (plugins/sandbox/local.ts).
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../../kernel/index.js'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { toOutput } from '../../../plugins/tools/registry.js'
import type { Tool, ToolContext, ToolOutput, ToolState } from '../../../plugins/tools/tool.js'

export class MapState implements ToolState {
  readonly values = new Map<string, unknown>()
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined
  }
  set<T>(key: string, value: T): void {
    this.values.set(key, value)
  }
}

export interface Workspace {
  readonly root: string
  readonly env: Environment
  readonly state: MapState
  readonly progress: Array<{ message: string; data?: unknown }>
  context(signal?: AbortSignal): ToolContext
  /** Validates the input with the tool's schema (as the agent does), then runs it. */
  run<I>(tool: Tool<I>, input: unknown, signal?: AbortSignal): Promise<ToolOutput>
  dispose(): Promise<void>
}

export async function createWorkspace(): Promise<Workspace> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'tau-builtins-')))
  // The environment picks its allowlisted variables from process.env now: set test variables first.
  const env = new LocalEnvironment({ cwd: root, killGraceMs: 500 })
  const state = new MapState()
  const progress: Array<{ message: string; data?: unknown }> = []
  const logger = createLogger('test', { level: 'silent' })
  let calls = 0
  const context = (signal: AbortSignal = new AbortController().signal): ToolContext => ({
    signal,
    env,
    sessionId: 'session-test',
    callId: `call-${++calls}`,
    state,
    progress: (message, data) => progress.push({ message, data }),
    logger,
    model: { vision: false },
  })
  return {
    root,
    env,
    state,
    progress,
    context,
    async run<I>(tool: Tool<I>, input: unknown, signal?: AbortSignal) {
      const checked = await tool.input['~standard'].validate(input)
      if (checked.issues) throw new Error(`invalid input: ${checked.issues.map((i) => i.message).join('; ')}`)
      return toOutput(await tool.execute(checked.value, context(signal)))
    },
    async dispose() {
      await env.dispose()
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** The text of a tool output. */
export function textOf(output: ToolOutput): string {
  return output.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}
