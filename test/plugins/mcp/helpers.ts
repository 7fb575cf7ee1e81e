/** Shared helpers for the MCP tests: the kernel with sandbox + tools + mcp, and a tool runner. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TauConfig } from '../../../kernel/index.js'
import { createLogger } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import { sessionInteraction, type UserInteraction } from '../../../plugins/agent/index.js'
import mcp, { mcpServersRef } from '../../../plugins/mcp/index.js'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import sandbox from '../../../plugins/sandbox/index.js'
import tools, {
  createToolState,
  type ToolOutput,
  toOutput,
  toolRegistryRef,
} from '../../../plugins/tools/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

const bin = (name: string) => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url))
export const EVERYTHING = bin('mcp-server-everything')
export const FILESYSTEM = bin('mcp-server-filesystem')
export const MEMORY = bin('mcp-server-memory')
export const EVERYTHING_MAIN = fileURLToPath(
  new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
)
export const FAULT_SERVER = fileURLToPath(new URL('./fixtures/fault-server.mjs', import.meta.url))

export async function mcpKernel(
  config: TauConfig,
  options: { cwd?: string; start?: boolean; tauHome?: string } = {},
) {
  const kernel = await createTestKernel({
    plugins: [sandbox, tools, mcp],
    config,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.tauHome ? { tauHome: options.tauHome } : {}),
    ...(options.start === false ? { start: false } : {}),
  })
  return {
    kernel,
    servers: () => kernel.resolve(mcpServersRef),
    registry: () => kernel.resolve(toolRegistryRef),
  }
}

export interface RunOptions {
  signal?: AbortSignal
  progress?: Array<{ message: string; data: unknown }>
  /** The call's session (default `s1`). */
  sessionId?: string
  /**
   * The session's UserInteraction, carried to the tool as the agent's link does (without one the
   * call runs outside an agent session: nobody to ask).
   */
  interaction?: UserInteraction
}

/** A session's question queue for the link (one question at a time, as the agent's). */
function queue(): <T>(ask: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve()
  return (ask) => {
    const next = last.then(ask, ask)
    last = next.catch(() => undefined)
    return next
  }
}

/** Validates the input the way the agent does, then runs the tool. */
export async function runTool(
  registry: ReturnType<Awaited<ReturnType<typeof mcpKernel>>['registry']>,
  name: string,
  input: unknown,
  options: RunOptions = {},
): Promise<ToolOutput> {
  const tool = registry.get(name)
  if (!tool)
    throw new Error(
      `no tool ${name}; have ${registry
        .list()
        .map((t) => t.name)
        .join(', ')}`,
    )
  const checked = await tool.input['~standard'].validate(input)
  if (checked.issues) throw new Error(`invalid input: ${checked.issues.map((i) => i.message).join('; ')}`)
  const output = await tool.execute(checked.value, {
    signal: options.signal ?? new AbortController().signal,
    env: {} as Environment,
    sessionId: options.sessionId ?? 's1',
    callId: 'c1',
    state: createToolState(),
    progress: (message, data) => options.progress?.push({ message, data }),
    logger: createLogger('test', { level: 'error', sink: () => undefined }),
    model: { vision: true },
    ...(options.interaction
      ? {
          agent: {
            emit: () => undefined,
            askPermission: undefined,
            interaction: sessionInteraction(options.interaction, queue()),
          },
        }
      : {}),
  } as Parameters<typeof tool.execute>[1])
  return toOutput(output)
}

export function textOf(output: ToolOutput): string {
  return output.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n')
}

/** Whether the process exists (exact for a child of this process: it is reaped as it exits). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Whether the process still runs: for one this process did not start, a zombie (ended, waiting
 * for whoever adopted it to reap it) has ended.
 */
export function running(pid: number): boolean {
  if (!alive(pid)) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return true
  }
}

/** Polls until `check` holds (or throws after `ms`, a limit for hangs only: loaded machines are slow). */
export async function until(check: () => boolean, ms = HANG_LIMIT_MS, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
