/**
 * Kill and resume at the boundaries inside route, vote (parallel voters), orchestrate and refine,
 * through the real `tau` binary. One workflow chains the four patterns; its agents talk to one
 * scripted OpenAI-format server that answers each request from its own messages (so parallel
 * voters and workers get their answers in any order), and the workers' Bash calls append to
 * `effects.txt` (the tool side effects). Each case holds the first model call after its
 * boundary (the server delays it), waits for the boundary's checkpoint record and that held call,
 * `kill -9`s tau, then `tau workflow resume RUN`: every model call that had been answered before
 * the kill is not made again, no tool call runs twice, and the output, the effects and the model
 * calls overall are those of an uninterrupted run. Every wait polls for a condition.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import type { WireRequest } from '../../plugins/provider-scripted/wire/types.js'
import { projectKey } from '../../plugins/session/index.js'
import { type Project, STACK_LINE, type TauProcess, useProjects, waitUntil } from './run-tau.js'

const project = useProjects()

const WORKFLOW = `import { z } from 'zod'
import { agent, chain, defineWorkflow, orchestrate, refine, route, step, vote } from 'tau'

export default defineWorkflow({
  name: 'patterns',
  input: z.object({ topic: z.string() }),
  run: chain([
    route({
      classify: { agent: 'clerk' },
      routes: {
        bug: agent({ agent: 'worker', name: 'fix', prompt: (i: { topic: string }) => 'FIX ' + i.topic }),
        other: step('other', () => 'nothing to fix'),
      },
    }),
    vote({
      voters: [
        agent({ agent: 'worker', name: 'a', prompt: (fixed: string) => 'VOTE A on ' + fixed }),
        agent({ agent: 'worker', name: 'b', prompt: (fixed: string) => 'VOTE B on ' + fixed }),
        agent({ agent: 'worker', name: 'c', prompt: (fixed: string) => 'VOTE C on ' + fixed }),
      ],
    }),
    orchestrate({ lead: 'clerk', worker: 'worker', prompt: (verdict: string) => 'ORCH after ' + verdict }),
    refine({
      generator: agent({
        agent: 'worker',
        name: 'gen',
        prompt: (r: { input: string; round: number }) => 'GEN round ' + r.round + ' of ' + r.input,
      }),
      evaluator: agent({ agent: 'clerk', name: 'judge' }),
      maxRounds: 3,
    }),
  ]),
})
`

type Message = { role: string; content?: unknown; tool_calls?: unknown[] }

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('')
  return ''
}

function messagesOf(request: WireRequest): Message[] {
  return (request.body as { messages: Message[] }).messages
}

/** The agent's task (its first user message) and how far its conversation is. */
function keyOf(request: WireRequest): string {
  const messages = messagesOf(request).filter((m) => m.role !== 'system')
  const task = textOf(messages.find((m) => m.role === 'user')?.content)
  // The synthesis prompt names the artefacts' paths, which hold the run's id.
  return `${task.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<run>')} #${messages.length}`
}

const bash = (id: string, line: string): ScriptTurn => ({
  toolCalls: [{ id, name: 'Bash', input: { command: `echo ${line} >> effects.txt` } }],
})

/** The answer to a request, from its own messages. */
function answer(request: WireRequest): ScriptTurn {
  const messages = messagesOf(request).filter((m) => m.role !== 'system')
  const task = textOf(messages.find((m) => m.role === 'user')?.content)
  const afterTool = messages.at(-1)?.role === 'tool'
  if (task.includes('Classify the request')) return { text: '{"route":"bug","reason":"it is one"}' }
  if (task.startsWith('FIX ')) return afterTool ? { text: 'fixed' } : bash('call_fix', 'fix')
  if (task.startsWith('VOTE C')) return { text: 'no' }
  if (task.startsWith('VOTE ')) return { text: 'yes' }
  if (task.startsWith('Plan this task'))
    return {
      text: JSON.stringify({
        subtasks: [
          { id: 'a', task: 'TASK-A count the owls' },
          { id: 'b', task: 'TASK-B count the bats' },
        ],
      }),
    }
  if (task.startsWith('TASK-A')) return afterTool ? { text: 'report A' } : bash('call_a', 'worker-a')
  if (task.startsWith('TASK-B')) return afterTool ? { text: 'report B' } : bash('call_b', 'worker-b')
  if (task.startsWith('The workers finished')) return { text: 'SYNTHESIS of A and B' }
  const round = /^GEN round (\d+)/.exec(task)
  if (round)
    return afterTool ? { text: `draft v${round[1]}` } : bash(`call_gen${round[1]}`, `gen-${round[1]}`)
  if (task.startsWith('Evaluate this output'))
    return {
      text: task.includes('draft v2')
        ? '{"pass":true,"feedback":"good"}'
        : '{"pass":false,"feedback":"say more"}',
    }
  return { text: `unexpected task: ${task.slice(0, 80)}` }
}

interface Held {
  /** Requests whose task starts with this are held (not answered) while `hold` is on. */
  readonly prefix: string
  hold: boolean
}

interface Fixture {
  p: Project
  server: ScriptedServer
  held: Held
  spawn(args: readonly string[]): TauProcess
}

const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

/**
 * One project for the reference run and every case, each case from a clean state: its own model
 * server (the config is rewritten with its URL), no effects.txt and no workflow log (where its
 * checkpoints and run id are read). The workflow file keeps its path, so jiti's transpile cache
 * (keyed by the file's path and source) compiles it once for the file's nine tau processes, not
 * once per project; the sessions of earlier cases stay, under other run ids.
 */
let shared: Project | undefined
async function fixture(holdPrefix = ''): Promise<Fixture> {
  shared ??= await project()
  const p = shared
  await rm(p.path('effects.txt'), { force: true })
  await rm(join(p.tauHome, 'projects', projectKey(p.dir), 'workflows'), { recursive: true, force: true })
  const held: Held = { prefix: holdPrefix, hold: holdPrefix !== '' }
  const server = await startScriptedServer({
    format: 'openai',
    script: [],
    models: [{ name: 'worker-model', capabilities: ['completion', 'tools'], contextLength: 32_768 }],
    respond: (request) => {
      const task = textOf(messagesOf(request).find((m) => m.role === 'user')?.content)
      // Held past the test's kill: this call is in flight when tau dies and is never answered.
      if (held.hold && task.startsWith(held.prefix)) return { text: 'never seen', firstByteDelayMs: 30_000 }
      return answer(request)
    },
  })
  servers.push(server)
  await p.write({
    // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:worker-model',
      providers: { openai: { baseURL: `${server.url}/v1` } },
      orchestrate: {
        agents: {
          clerk: { description: 'Plans and judges', prompt: 'You plan.', tools: [] },
          worker: {
            description: 'Works',
            prompt: 'You work.',
            tools: ['Bash'],
            permissionMode: 'bypassPermissions',
          },
        },
      },
    }),
    '.tau/workflows/patterns.ts': WORKFLOW,
  })
  return {
    p,
    server,
    held,
    spawn: (args) => p.spawn(args, { env: { OPENAI_API_KEY: 'sk-test' } }),
  }
}

const until = (check: () => boolean, what: string, proc: TauProcess) => waitUntil(check, what, proc, 60_000)

type Rec = { type: string; step?: string; runId?: string; status?: string }

function records(p: Project): Rec[] {
  const dir = join(p.tauHome, 'projects', projectKey(p.dir), 'workflows')
  if (!existsSync(dir)) return []
  const file = readdirSync(dir).find((name) => name.endsWith('.jsonl'))
  if (!file) return []
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Rec]
      } catch {
        return []
      }
    })
}

const posts = (server: ScriptedServer) =>
  server.requests.filter((r) => r.method === 'POST' && r.path.includes('/chat/completions'))
const effects = (p: Project) =>
  p.exists('effects.txt') ? readFileSync(join(p.dir, 'effects.txt'), 'utf8').trim().split('\n').sort() : []
const ARGS = ['workflow', 'run', 'patterns', '--input', '{"topic":"owls"}', '--output-format', 'json']

let reference: { output: unknown; calls: string[]; effects: string[] }

beforeAll(async () => {
  const f = await fixture()
  const result = await f.spawn(ARGS).result
  expect(result.code, result.stderr).toBe(0)
  reference = {
    output: (JSON.parse(result.stdout) as { output: unknown }).output,
    calls: posts(f.server).map(keyOf).sort(),
    effects: effects(f.p),
  }
})

const W = 'patterns/run'
const cases: Array<{ boundary: string; steps: string[]; hold: string }> = [
  { boundary: 'route (classify done)', steps: [`${W}/route/classify`], hold: 'FIX ' },
  {
    boundary: 'vote (two voters done, one in flight)',
    steps: [`${W}/vote/voters/0`, `${W}/vote/voters/1`],
    hold: 'VOTE C',
  },
  {
    boundary: 'orchestrate (plan and one worker done, one in flight)',
    steps: [`${W}/orchestrate/plan`, `${W}/orchestrate/workers/a`],
    hold: 'TASK-B',
  },
  { boundary: 'refine (round 1 evaluated)', steps: [`${W}/refine/rounds/1/evaluate`], hold: 'GEN round 2' },
]

describe('tau workflow: kill -9 at the boundaries of route, vote, orchestrate and refine', () => {
  it('the uninterrupted run goes through every pattern', () => {
    expect(reference.output).toEqual({
      output: 'draft v2',
      verdict: { pass: true, feedback: 'good' },
      rounds: 2,
    })
    expect(reference.effects).toEqual(['fix', 'gen-1', 'gen-2', 'worker-a', 'worker-b'])
    // Every model call once: no duplicate conversation state.
    expect(new Set(reference.calls).size).toBe(reference.calls.length)
  })

  for (const c of cases) {
    it(`${c.boundary}: resume runs nothing twice and ends as the uninterrupted run`, async () => {
      const f = await fixture(c.hold)
      const first = f.spawn(ARGS)
      await until(
        () =>
          c.steps.every((step) => records(f.p).some((r) => r.type === 'step-end' && r.step === step)) &&
          posts(f.server).some((r) => keyOf(r).startsWith(c.hold)),
        `the checkpoints of ${c.steps.join(', ')} and the held call`,
        first,
      )
      first.child.kill('SIGKILL')
      expect((await first.result).signal).toBe('SIGKILL')
      const before = posts(f.server).map(keyOf)
      const answered = before.filter((key) => !key.startsWith(c.hold))
      const effectsBefore = effects(f.p)
      const runId = records(f.p)[0]!.runId!

      f.held.hold = false
      const resumed = await f.spawn(['workflow', 'resume', runId, '--output-format', 'json']).result
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stderr).not.toMatch(STACK_LINE)
      expect((JSON.parse(resumed.stdout) as { output: unknown }).output).toEqual(reference.output)
      const after = posts(f.server).slice(before.length).map(keyOf)
      // No model call answered before the kill was made again...
      expect(after.filter((key) => answered.includes(key))).toEqual([])
      // ...and together the two attempts made the uninterrupted run's calls, the held one twice
      // (it was in flight at the kill, never answered).
      const held = before.filter((key) => key.startsWith(c.hold))
      expect([...answered, ...after].sort()).toEqual(reference.calls)
      expect(held.length).toBeGreaterThan(0)
      // No tool call ran twice: each side effect once, those before the kill kept.
      expect(effects(f.p)).toEqual(reference.effects)
      for (const line of effectsBefore) expect(effects(f.p)).toContain(line)
      expect(records(f.p).at(-1)).toMatchObject({ type: 'end', status: 'completed' })
    }, 150_000)
  }
})
