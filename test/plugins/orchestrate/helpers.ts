/**
 * A kernel with the orchestrate plugin, the real agent loop, the session plugin (resume of an
 * interrupted step's session) and the in-process scripted model: its turns answer every agent's
 * model calls in the order they are made; each request records its model, so a test sees which
 * agent ran on which model.
 */
import { onTestFinished } from 'vitest'
import type { ModelRequest, TauConfig, TauPlugin } from '../../../kernel/index.js'
import orchestrate, {
  type Orchestrator,
  orchestratorRef,
  type Workflow,
  type WorkflowEvent,
  type WorkflowOutcome,
} from '../../../plugins/orchestrate/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import session from '../../../plugins/session/index.js'
import subagents from '../../../plugins/subagents/index.js'
import { createTestKernel, type TestKernel } from '../../../sdk/testing.js'

export const AGENTS = {
  writer: { description: 'Writes', prompt: 'WRITER PROMPT', model: 'scripted:writer-model', tools: [] },
  critic: { description: 'Judges', prompt: 'CRITIC PROMPT', model: 'scripted:critic-model', tools: [] },
  lead: { description: 'Plans', prompt: 'LEAD PROMPT', model: 'scripted:lead-model', tools: [] },
  worker: { description: 'Works', prompt: 'WORKER PROMPT', model: 'scripted:worker-model', tools: [] },
}

export interface Harness {
  kernel: TestKernel
  orchestrator: Orchestrator
  requests: ModelRequest[]
  push(...turns: ScriptTurn[]): void
  remaining(): number
  run(
    workflow: Workflow | string,
    input: unknown,
  ): Promise<{ events: WorkflowEvent[]; outcome: WorkflowOutcome }>
  resume(runId: string): Promise<{ events: WorkflowEvent[]; outcome: WorkflowOutcome }>
}

export async function harness(
  options: {
    turns?: ScriptTurn[]
    workflows?: Workflow[]
    config?: TauConfig
    tauHome?: string
    cwd?: string
    extraPlugins?: readonly TauPlugin[]
  } = {},
): Promise<Harness> {
  const kernel = await createTestKernel({
    plugins: [providerScripted, session, subagents, orchestrate, ...(options.extraPlugins ?? [])],
    config: {
      model: 'scripted:default-model',
      providers: { scripted: { turns: options.turns ?? [] } },
      session: { durability: 'off' },
      orchestrate: { agents: AGENTS, workflows: options.workflows ?? [] },
      ...options.config,
    },
    ...(options.tauHome ? { tauHome: options.tauHome } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  })
  // Stopped after the test it was made in (onTestFinished): // a module-level afterEach would hold for the first file of a worker only: unit files share a
  // worker's modules (isolate: false).
  onTestFinished(() => kernel.stop())
  const orchestrator = kernel.resolve(orchestratorRef)
  const scripted = kernel.resolve(scriptedProviderRef)
  const drain = async (run: Awaited<ReturnType<Orchestrator['run']>>) => {
    const events: WorkflowEvent[] = []
    for await (const event of run) events.push(event)
    return { events, outcome: await run.done }
  }
  return {
    kernel,
    orchestrator,
    requests: scripted.requests,
    push: (...turns) => scripted.push(...turns),
    remaining: () => scripted.remaining(),
    run: async (workflow, input) => drain(await orchestrator.run(workflow, input)),
    resume: async (runId) => drain(await orchestrator.resume(runId)),
  }
}

/** The text of a request's last user message. */
export function lastUser(request: ModelRequest): string {
  const users = request.messages.filter((m) => m.role === 'user')
  const last = users.at(-1)
  if (!last) return ''
  return typeof last.content === 'string'
    ? last.content
    : last.content.map((p) => ('text' in p && typeof p.text === 'string' ? p.text : '')).join('')
}

export function systemOf(request: ModelRequest): string {
  return request.messages
    .filter((m) => m.role === 'system')
    .map((m) => (typeof m.content === 'string' ? m.content : ''))
    .join('\n')
}

export const stepEnds = (events: readonly WorkflowEvent[]) =>
  events.flatMap((e) => (e.type === 'step-end' && 'kind' in e ? [e] : []))
