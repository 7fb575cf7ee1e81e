/**
 * Claude Code's tools through the real binary, against a scripted Anthropic server on loopback:
 * AskUserQuestion headless (`-p`: nobody can answer, the result says so) and over `tau serve`
 * (the question waits on the session until a client answers it over HTTP).
 */
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useProjects, waitUntil } from './run-tau.js'
import { startServe } from './serve-process.js'

const project = useProjects()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

async function fixture(turns: ScriptTurn[], files: Record<string, string> = {}) {
  const p = await project(files)
  const server = await startScriptedServer({ format: 'anthropic', script: turns })
  closers.push(() => server.close())
  await p.write({
    'tau.config.ts': `export default {
  preset: 'coding',
  model: 'anthropic:scripted-model',
  providers: { anthropic: { baseURL: ${JSON.stringify(server.url)}, apiKey: 'sk-ant-test' }, retries: { max: 0 } },
  sandbox: { mode: 'off' },
}
`,
  })
  return { p, server }
}

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

/** The tool_result blocks of the user lines of a stream-json run. */
function toolResults(out: Line[]): Array<{ tool_use_id: string; content: unknown; is_error: boolean }> {
  return out
    .filter((l) => l.type === 'user')
    .flatMap((l) => (l.message as { content: Array<Record<string, unknown>> }).content)
    .filter((block) => block.type === 'tool_result') as never
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : (content as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('')

/** The text of the tool_result blocks the model was sent, across all requests. */
function sentResults(server: ScriptedServer): string[] {
  return server.requests
    .filter((r) => r.path.startsWith('/v1/messages'))
    .flatMap((r) => (r.body as { messages: Array<{ content: unknown }> }).messages)
    .flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : []))
    .filter((b) => b.type === 'tool_result')
    .map((b) => textOf(b.content))
}

const colorQuestion = {
  question: 'Which color should the button be?',
  header: 'Color',
  options: [
    { label: 'Red', description: 'Loud' },
    { label: 'Blue', description: 'Calm' },
  ],
  multiSelect: false,
}

describe('AskUserQuestion through the binary', () => {
  it('-p: nobody can answer, so the result is an error that says so, and the run goes on', async () => {
    const { p, server } = await fixture([
      { toolCalls: [{ id: 'toolu_q1', name: 'AskUserQuestion', input: { questions: [colorQuestion] } }] },
      { text: 'I picked blue myself.' },
    ])
    const result = await p.run(
      ['start', '-p', 'make a button', '--output-format', 'stream-json', '--verbose'],
      {
        env: { ANTHROPIC_API_KEY: 'sk-ant-test' },
        timeoutMs: 40_000,
      },
    )
    expect(result.code, result.stderr).toBe(0)
    const out = lines(result.stdout)
    expect(out[0]!.tools).toContain('AskUserQuestion')
    const [block] = toolResults(out)
    expect(block).toMatchObject({ tool_use_id: 'toolu_q1', is_error: true })
    expect(textOf(block!.content)).toContain(
      'The questions were not answered: there is no user to ask (headless).',
    )
    expect(sentResults(server)[0]).toContain('there is no user to ask')
    expect(out.at(-1)).toMatchObject({ type: 'result', subtype: 'success', result: 'I picked blue myself.' })
  }, 90_000)

  it('tau serve: the question waits on the session until a client answers it over HTTP; the model gets the answers', async () => {
    const sizes = {
      question: 'Which sizes?',
      header: 'Sizes',
      options: [
        { label: 'Small', description: '' },
        { label: 'Large', description: '' },
      ],
      multiSelect: true,
    }
    const { p, server } = await fixture([
      {
        toolCalls: [
          { id: 'toolu_q2', name: 'AskUserQuestion', input: { questions: [colorQuestion, sizes] } },
        ],
      },
      { text: 'Blue it is, small and large.' },
    ])
    const serve = await startServe(p, closers)
    const created = await serve.call('POST', '/sessions', {})
    expect(created.status).toBe(201)
    const id = created.body.id as string
    expect((await serve.call('POST', `/sessions/${id}/prompt`, { text: 'make a button' })).status).toBe(202)
    let pending: Array<{ id: string; kind: string; request: { questions: unknown[]; toolCallId: string } }> =
      []
    const poll = async () => {
      pending = (await serve.call('GET', `/sessions/${id}/questions`)).body.questions as typeof pending
    }
    await poll()
    const deadline = Date.now() + 45_000
    while (pending.length === 0 && Date.now() < deadline && !serve.proc.exited) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      await poll()
    }
    expect(pending, serve.proc.output()).toHaveLength(1)
    const [question] = pending
    expect(question).toMatchObject({ kind: 'questions', request: { toolCallId: 'toolu_q2' } })
    expect(question!.request.questions).toEqual([colorQuestion, sizes])

    // An answer to a question that was not asked is refused, naming it.
    const stray = await serve.call('POST', `/sessions/${id}/questions/${question!.id}`, {
      answer: { answers: { 'Which shape?': 'Round' } },
    })
    expect(stray.status).toBe(400)
    expect(JSON.stringify(stray.body)).toContain("'Which shape?' is not one of the questions asked")

    const answered = await serve.call('POST', `/sessions/${id}/questions/${question!.id}`, {
      answer: { answers: { [colorQuestion.question]: 'Blue', [sizes.question]: 'Small, Large' } },
    })
    expect(answered.status, JSON.stringify(answered.body)).toBe(200)
    await waitUntil(() => sentResults(server).length > 0, 'the answers reach the model', serve.proc)
    expect(sentResults(server)[0]).toBe(
      `User has answered your questions: "${colorQuestion.question}"="Blue", "${sizes.question}"="Small, Large". You can now continue with the user's answers in mind.`,
    )
    expect((await serve.call('GET', `/sessions/${id}/questions`)).body.questions).toEqual([])
  }, 120_000)
})
