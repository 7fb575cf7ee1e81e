/**
 * Claude Code's tools through the real binary, against a scripted Anthropic server on loopback:
 * AskUserQuestion headless (`-p`: nobody can answer, the result says so and lists it in
 * permission_denials; `--permission-prompt-tool` answers it through a stdio MCP tool) and over `tau serve`
 * (the question waits on the session until a client answers it over HTTP); the result text of
 * failures as Claude Code words it (`Exit code N` first, `<tool_use_error>`); background Bash
 * (BashOutput reads it, KillShell kills its process tree, the shells left die with tau).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { useAnthropicFixtures } from './anthropic-fixture.js'
import { color as colorQuestion, sentResults, shape, sizes, textOf } from './ask-user-question-fixture.js'
import { HANG_LIMIT_MS, REPO_ROOT, waitUntil } from './run-tau.js'
import { startServe } from './serve-process.js'

// Before the closers: after-all hooks run last first, so `tau serve` stops before its project
// and scripted server go.
const anthropicFixture = useAnthropicFixtures()
const closers: Array<() => unknown> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

async function fixture(turns: ScriptTurn[], files: Record<string, string> = {}) {
  const { p, server } = await anthropicFixture(turns, {
    files,
    anthropic: { apiKey: 'sk-ant-test' },
    providers: { retries: { max: 0 } },
    config: { sandbox: { mode: 'off' } },
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

describe('AskUserQuestion through the binary', () => {
  it('-p: nobody can answer, so the result is an error that says so, and the run goes on', async () => {
    const { p, server } = await fixture([
      { toolCalls: [{ id: 'toolu_q1', name: 'AskUserQuestion', input: { questions: [colorQuestion] } }] },
      { text: 'I picked blue myself.' },
    ])
    const result = await p.run(
      ['start', '-p', 'make a button', '--output-format', 'stream-json', '--verbose'],
      { env: { ANTHROPIC_API_KEY: 'sk-ant-test' } },
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
    expect(result.stderr).toContain('tau: AskUserQuestion denied (not answered): there is no user to ask')
    // As in Claude Code, where the call asks for a permission nobody can give.
    expect(out.at(-1)!.permission_denials).toEqual([
      { tool_name: 'AskUserQuestion', tool_use_id: 'toolu_q1', tool_input: { questions: [colorQuestion] } },
    ])
  })

  it("--permission-prompt-tool answers the questions as Claude Code's canUseTool does (updatedInput.answers); its deny is a denial", async () => {
    const secret = { ...colorQuestion, question: 'Which password?', header: 'Secret' }
    const { p, server } = await fixture([
      {
        toolCalls: [{ id: 'toolu_a', name: 'AskUserQuestion', input: { questions: [colorQuestion, sizes] } }],
      },
      { toolCalls: [{ id: 'toolu_d', name: 'AskUserQuestion', input: { questions: [secret] } }] },
      { text: 'Blue, small and large; no password.' },
    ])
    const log = join(p.dir, 'approvals.jsonl')
    const approver = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'permission-prompt-server.mjs')
    const mcp = JSON.stringify({
      mcpServers: { approver: { command: process.execPath, args: [approver], env: { APPROVALS_LOG: log } } },
    })
    const result = await p.run(
      [
        'start',
        '-p',
        'make a button',
        '--output-format',
        'stream-json',
        '--verbose',
        '--mcp-config',
        mcp,
        '--permission-prompt-tool',
        'mcp__approver__approve',
      ],
      { env: { ANTHROPIC_API_KEY: 'sk-ant-test' } },
    )
    expect(result.code, result.stderr).toBe(0)
    // The tool is asked with Claude Code's {tool_name, input, tool_use_id}.
    const asked = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(asked).toEqual([
      { tool_name: 'AskUserQuestion', input: { questions: [colorQuestion, sizes] }, tool_use_id: 'toolu_a' },
      { tool_name: 'AskUserQuestion', input: { questions: [secret] }, tool_use_id: 'toolu_d' },
    ])
    // Each request resends the earlier results: the distinct ones, in order (sentResults). The
    // approver picks the last option of a pick and every option of a multi-select.
    const sent = sentResults(server)
    expect(sent).toHaveLength(2)
    expect(sent[0]).toBe(
      `User has answered your questions: "${colorQuestion.question}"="Blue", "${sizes.question}"="Small, Medium, Large". You can now continue with the user's answers in mind.`,
    )
    expect(sent[1]).toContain('The questions were not answered: the approver keeps secrets.')
    const out = lines(result.stdout)
    const answeredLine = out.find(
      (l) => l.type === 'user' && JSON.stringify(l.message).includes('"tool_use_id":"toolu_a"'),
    )
    expect(answeredLine?.tool_use_result).toEqual({
      questions: [colorQuestion, sizes],
      answers: { [colorQuestion.question]: 'Blue', [sizes.question]: 'Small, Medium, Large' },
    })
    expect(out.at(-1)!.permission_denials).toEqual([
      { tool_name: 'AskUserQuestion', tool_use_id: 'toolu_d', tool_input: { questions: [secret] } },
    ])
  })

  it('tau serve: the question waits on the session until a client answers it over HTTP; the model gets the answers', async () => {
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
    const deadline = Date.now() + HANG_LIMIT_MS
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
      answer: { answers: { [shape.question]: 'Round' } },
    })
    expect(stray.status).toBe(400)
    expect(JSON.stringify(stray.body)).toContain(`'${shape.question}' is not one of the questions asked`)

    const answered = await serve.call('POST', `/sessions/${id}/questions/${question!.id}`, {
      answer: { answers: { [colorQuestion.question]: 'Blue', [sizes.question]: 'Small, Large' } },
    })
    expect(answered.status, JSON.stringify(answered.body)).toBe(200)
    await waitUntil(() => sentResults(server).length > 0, 'the answers reach the model', serve.proc)
    expect(sentResults(server)[0]).toBe(
      `User has answered your questions: "${colorQuestion.question}"="Blue", "${sizes.question}"="Small, Large". You can now continue with the user's answers in mind.`,
    )
    expect((await serve.call('GET', `/sessions/${id}/questions`)).body.questions).toEqual([])
  })
})

describe("tool results in Claude Code's words, through the binary", () => {
  it('Bash puts Exit code N first; bad input, unknown tools and refusals are <tool_use_error>s', async () => {
    const { p, server } = await fixture([
      {
        toolCalls: [
          { id: 'toolu_b', name: 'Bash', input: { command: 'echo built; echo broken >&2; exit 3' } },
          { id: 'toolu_i', name: 'Read', input: { limit: 'ten' } },
          { id: 'toolu_u', name: 'Frobnicate', input: {} },
          { id: 'toolu_r', name: 'Read', input: { file_path: 'missing.txt' } },
        ],
      },
      { text: 'done' },
    ])
    const result = await p.run(
      ['start', '-p', 'go', '--output-format', 'stream-json', '--verbose', '--allowed-tools', 'Bash'],
      { env: { ANTHROPIC_API_KEY: 'sk-ant-test' } },
    )
    expect(result.code, result.stderr).toBe(0)
    const out = lines(result.stdout)
    const byId = new Map(toolResults(out).map((block) => [block.tool_use_id, block]))
    const text = (id: string) => textOf(byId.get(id)!.content)
    expect(text('toolu_b')).toBe('Exit code 3\nbuilt\nbroken')
    expect(text('toolu_i')).toBe(
      '<tool_use_error>InputValidationError: Read failed due to the following issues:\nThe required parameter `file_path` is missing\nThe parameter `limit` type is expected as `number` but provided as `string`</tool_use_error>',
    )
    expect(text('toolu_u')).toMatch(
      /^<tool_use_error>Error: No such tool available: Frobnicate\. .*\bRead\b.*<\/tool_use_error>$/,
    )
    expect(text('toolu_r')).toMatch(
      /^<tool_use_error>File does not exist: missing\.txt\..*<\/tool_use_error>$/,
    )
    for (const id of byId.keys()) expect(byId.get(id)!.is_error, id).toBe(true)
    // The model got the same text; tool_use_result has it without the tags, as Claude Code's.
    expect(sentResults(server)).toEqual(expect.arrayContaining([text('toolu_b'), text('toolu_i')]))
    const userLine = out.find(
      (l) =>
        l.type === 'user' && JSON.stringify((l.message as { content: unknown }).content).includes('toolu_u'),
    )!
    expect(userLine.tool_use_result).toMatch(/^Error: No such tool available: Frobnicate\. /)
  })
  it('a key the tool does not name is refused with the unexpected parameter, and the call never runs', async () => {
    const { p, server } = await fixture([
      {
        toolCalls: [
          { id: 'toolu_w', name: 'Write', input: { path: 'made.txt', content: 'x' } },
          { id: 'toolu_g', name: 'Glob', input: { pattern: '*.md', recursive: true } },
        ],
      },
      { text: 'done' },
    ])
    const result = await p.run(['start', '-p', 'go', '--output-format', 'stream-json', '--verbose'], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-test' },
    })
    expect(result.code, result.stderr).toBe(0)
    const byId = new Map(toolResults(lines(result.stdout)).map((block) => [block.tool_use_id, block]))
    const text = (id: string) => textOf(byId.get(id)!.content)
    expect(text('toolu_w')).toBe(
      '<tool_use_error>InputValidationError: Write failed due to the following issues:\nThe required parameter `file_path` is missing\nAn unexpected parameter `path` was provided</tool_use_error>',
    )
    expect(text('toolu_g')).toBe(
      '<tool_use_error>InputValidationError: Glob failed due to the following issue:\nAn unexpected parameter `recursive` was provided</tool_use_error>',
    )
    expect(byId.get('toolu_g')!.is_error).toBe(true)
    expect(existsSync(join(p.dir, 'made.txt'))).toBe(false)
    expect(sentResults(server)).toEqual(expect.arrayContaining([text('toolu_w'), text('toolu_g')]))
  })
})

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('background Bash through the binary', () => {
  it('BashOutput reads a background command, KillShell kills its process tree, and the shells left die when tau exits', async () => {
    const { p } = await fixture([
      {
        toolCalls: [
          {
            id: 'toolu_bg1',
            name: 'Bash',
            input: {
              command: 'echo started-1; sleep 300 & echo $! > child1.pid; wait',
              run_in_background: true,
            },
          },
        ],
      },
      // The model's own wait: until the background command has written its child's pid.
      {
        toolCalls: [
          {
            id: 'toolu_wait1',
            name: 'Bash',
            input: { command: 'until [ -s child1.pid ]; do sleep 0.05; done' },
          },
        ],
      },
      { toolCalls: [{ id: 'toolu_out', name: 'BashOutput', input: { bash_id: 'bash_1' } }] },
      { toolCalls: [{ id: 'toolu_kill', name: 'KillShell', input: { shell_id: 'bash_1' } }] },
      {
        toolCalls: [
          {
            id: 'toolu_gone',
            name: 'Bash',
            input: {
              command: 'while kill -0 $(cat child1.pid) 2>/dev/null; do sleep 0.05; done; echo child-1-gone',
              timeout: HANG_LIMIT_MS,
            },
          },
        ],
      },
      {
        toolCalls: [
          {
            id: 'toolu_bg2',
            name: 'Bash',
            input: { command: 'sleep 300 & echo $! > child2.pid; wait', run_in_background: true },
          },
        ],
      },
      {
        toolCalls: [
          {
            id: 'toolu_wait2',
            name: 'Bash',
            input: { command: 'until [ -s child2.pid ]; do sleep 0.05; done' },
          },
        ],
      },
      { text: 'left one running' },
    ])
    const proc = p.spawn(
      [
        'start',
        '-p',
        'run things',
        '--output-format',
        'stream-json',
        '--verbose',
        '--dangerously-skip-permissions',
      ],
      { env: { ANTHROPIC_API_KEY: 'sk-ant-test' } },
    )
    const result = await proc.result
    expect(result.code, result.stderr).toBe(0)
    const byId = new Map(toolResults(lines(result.stdout)).map((block) => [block.tool_use_id, block]))
    const text = (id: string) => textOf(byId.get(id)!.content)
    expect(text('toolu_bg1')).toContain('bash_1')
    expect(text('toolu_out')).toContain('started-1')
    expect(text('toolu_out')).toContain('<status>running</status>')
    expect(byId.get('toolu_kill')!.is_error).toBe(false)
    expect(text('toolu_kill')).toMatch(/^Killed shell bash_1/)
    // The child was dead while tau still ran: KillShell killed the tree, not tau's exit.
    expect(text('toolu_gone')).toBe('child-1-gone')
    const child1 = Number((await readFile(p.path('child1.pid'), 'utf8')).trim())
    expect(pidAlive(child1)).toBe(false)
    // The shell nobody killed died with tau.
    const child2 = Number((await readFile(p.path('child2.pid'), 'utf8')).trim())
    const deadline = Date.now() + HANG_LIMIT_MS
    while (pidAlive(child2) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(pidAlive(child2)).toBe(false)
  })
})
