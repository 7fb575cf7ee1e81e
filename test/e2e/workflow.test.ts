/**
 * Workflows through the real `tau` binary on the coding preset, with two scripted model servers on
 * loopback (a writer agent on an OpenAI-format server, a critic on an Anthropic-format one), and
 * `kill -9` of tau mid-way: at a step boundary (one parallel section done, the other waiting) and
 * inside an agent step (its model call in flight). Then `tau workflow resume RUN`: the servers'
 * request logs show that no completed step's model call was made again, and the interrupted
 * agent step went on in its own session. Every wait polls for a condition; nothing sleeps.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { projectKey } from '../../plugins/session/index.js'
import { type Project, STACK_LINE, type TauProcess, waitUntil as until, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const WORKFLOW = `import { existsSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { agent, chain, defineWorkflow, parallel, step } from 'tau'

const waitFor = async (file: string) => {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20))
}

export default defineWorkflow({
  name: 'pipeline',
  description: 'draft, review beside a hold, final',
  input: z.object({ topic: z.string() }),
  run: chain([
    agent({ agent: 'writer', name: 'draft', prompt: (i: { topic: string }) => 'DRAFT ' + i.topic }),
    parallel({
      sections: {
        review: agent({ agent: 'critic', prompt: (d: string) => 'REVIEW ' + d }),
        hold: step('hold', async (d: string) => {
          writeFileSync('held', '')
          await waitFor('go')
          return d
        }),
      },
      aggregate: (r) => r.outputs.hold + ' / ' + r.outputs.review,
    }),
    agent({ agent: 'writer', name: 'final', prompt: (x: string) => 'FINAL ' + x }),
  ]),
})
`

interface Fixture {
  p: Project
  writer: ScriptedServer
  critic: ScriptedServer
  spawn(args: readonly string[]): TauProcess
}

async function fixture(writerTurns: ScriptTurn[], criticTurns: ScriptTurn[]): Promise<Fixture> {
  const p = await project()
  const models = (name: string) => [{ name, capabilities: ['completion', 'tools'], contextLength: 32_768 }]
  const writer = await startScriptedServer({
    format: 'openai',
    script: writerTurns,
    models: models('writer-model'),
  })
  const critic = await startScriptedServer({
    format: 'anthropic',
    script: criticTurns,
    models: models('critic-model'),
  })
  servers.push(writer, critic)
  await p.write({
    // JSON: the config's form is not under test (a tau.config.ts costs each boot a transpile).
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'openai:writer-model',
      providers: {
        openai: { baseURL: `${writer.url}/v1` },
        anthropic: { baseURL: critic.url },
      },
      orchestrate: {
        agents: {
          writer: { description: 'Writes', prompt: 'You write.', model: 'openai:writer-model', tools: [] },
          critic: {
            description: 'Reviews',
            prompt: 'You review.',
            model: 'anthropic:critic-model',
            tools: [],
          },
        },
      },
    }),
    '.tau/workflows/pipeline.ts': WORKFLOW,
  })
  const env = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' }
  return { p, writer, critic, spawn: (args) => p.spawn(args, { env }) }
}

async function kill9(proc: TauProcess): Promise<void> {
  proc.child.kill('SIGKILL')
  expect((await proc.result).signal).toBe('SIGKILL')
}

/** The records of the project's only workflow run. */
function records(p: Project): Array<{ type: string; step?: string; runId?: string }> {
  const dir = join(p.tauHome, 'projects', projectKey(p.dir), 'workflows')
  if (!existsSync(dir)) return []
  const file = readdirSync(dir).find((name) => name.endsWith('.jsonl'))
  if (!file) return []
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line)]
      } catch {
        return []
      }
    })
}

const userTexts = (server: ScriptedServer) =>
  server.requests
    .filter((r) => r.method === 'POST')
    .map((r) => {
      const messages = (r.body as { messages: Array<{ role: string; content: unknown }> }).messages
      const users = messages.filter((m) => m.role === 'user')
      return JSON.stringify(users.at(-1)?.content ?? '')
    })

describe('tau workflow', () => {
  it('run, kill -9 at a step boundary, resume: completed steps (and their model calls) do not run again', async () => {
    const f = await fixture([{ text: 'the draft' }, { text: 'THE FINAL TEXT' }], [{ text: 'looks good' }])
    const listed = await f.p.run(['workflow', 'list'], {})
    expect(listed.stdout).toContain('pipeline')

    const first = f.spawn(['workflow', 'run', 'pipeline', '--input', '{"topic":"owls"}'])
    await until(
      () =>
        f.p.exists('held') &&
        records(f.p).some((r) => r.type === 'step-end' && r.step === 'pipeline/run/parallel/sections/review'),
      'the review section ended and the hold section waits',
      first,
    )
    await kill9(first)
    expect(f.writer.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
    expect(f.critic.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
    const runId = records(f.p)[0]!.runId!

    const shown = await f.p.run(['workflow', 'show', runId], {})
    expect(shown.stdout).toContain('pipeline/run/draft (agent) done: the draft')
    expect(shown.stdout).toContain('interrupted')

    await f.p.write({ go: '' })
    const resumed = await f.spawn(['workflow', 'resume', runId]).result
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout.trim()).toBe('THE FINAL TEXT')
    expect(resumed.stderr).toContain('pipeline/run/draft (agent) done (from the log)')
    expect(resumed.stderr).not.toMatch(STACK_LINE)
    // After the kill only the final step called a model: the draft and the review were not run again.
    expect(userTexts(f.writer)).toHaveLength(2)
    expect(userTexts(f.writer)[1]).toContain('FINAL the draft / looks good')
    expect(userTexts(f.critic)).toHaveLength(1)
    expect(records(f.p).at(-1)).toMatchObject({ type: 'end', status: 'completed' })

    const again = await f.p.run(['workflow', 'resume', runId], {})
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('TAU_WORKFLOW_FINISHED')
    expect(again.stderr).not.toMatch(STACK_LINE)
  })

  it('kill -9 inside an agent step: resume continues its session from its transcript, nothing before it runs again', async () => {
    const f = await fixture(
      // The draft's answer, then the final step's first call hangs (tau is killed meanwhile), then the resumed call.
      [
        { text: 'the draft' },
        { text: 'never seen', firstByteDelayMs: 20_000 },
        { text: 'FINAL AFTER RESUME' },
      ],
      [{ text: 'fine' }],
    )
    await f.p.write({ go: '' })
    const first = f.spawn(['workflow', 'run', 'pipeline', '--input', '{"topic":"owls"}'])
    await until(
      () => f.writer.requests.filter((r) => r.method === 'POST').length === 2,
      'the final step calls its model',
      first,
    )
    await kill9(first)
    const runId = records(f.p)[0]!.runId!
    const finalSession = records(f.p).find(
      (r) => r.type === 'step-session' && r.step === 'pipeline/run/final',
    ) as { sessionId: string } | undefined
    expect(finalSession).toBeDefined()

    const resumed = await f.spawn(['workflow', 'resume', runId, '--output-format', 'json']).result
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ isError: false, output: 'FINAL AFTER RESUME' })
    const posts = f.writer.requests.filter((r) => r.method === 'POST')
    expect(posts).toHaveLength(3)
    // The resumed call is the same conversation: the final step's prompt once, no new user message.
    const messages = (posts[2]!.body as { messages: Array<{ role: string; content: unknown }> }).messages
    const users = messages.filter((m) => m.role === 'user')
    expect(users).toHaveLength(1)
    expect(JSON.stringify(users[0]!.content)).toContain('FINAL the draft / fine')
    expect(f.critic.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
    // The step went on in the session it had started.
    const ends = records(f.p).filter(
      (r) => r.type === 'step-end' && r.step === 'pipeline/run/final',
    ) as unknown as Array<{
      outcome: { sessions: string[] }
    }>
    expect(ends[0]!.outcome.sessions).toEqual([finalSession!.sessionId])
  })

  it('an unknown workflow and bad input are clear errors, without a stack', async () => {
    const f = await fixture([], [])
    const unknown = await f.p.run(['workflow', 'run', 'nope'], {})
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toContain("there is no workflow 'nope'")
    expect(unknown.stderr).toContain('pipeline')
    expect(unknown.stderr).not.toMatch(STACK_LINE)
    const bad = await f.p.run(['workflow', 'run', 'pipeline', '--input', '{"topic":3}'], {})
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('TAU_WORKFLOW_INPUT_INVALID')
    expect(bad.stderr).toContain('topic')
    expect(bad.stderr).not.toMatch(STACK_LINE)
  })
})
