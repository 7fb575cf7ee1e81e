/**
 * The headless frontend in-process: its arguments, and what it prints for text, json and
 * stream-json, with the exit codes. End to end through the real binary: test/e2e/agent.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { frontendRef, type TauPlugin } from '../../../kernel/index.js'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent from '../../../plugins/agent/index.js'
import headless, {
  INTERACTIVE_UNAVAILABLE,
  parseHeadlessArgs,
  splitRules,
} from '../../../plugins/headless/index.js'
import providerScripted, {
  type ScriptTurn,
  scriptedProviderRef,
} from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import slashCommands from '../../../plugins/slash-commands/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { toolsPlugin } from '../agent/helpers.js'

const greet = defineTool({
  name: 'Greet',
  description: 'greets',
  input: z.object({ name: z.string() }),
  annotations: { readOnly: true },
  async execute({ name }) {
    return `hello ${name}`
  },
})

async function runHeadless(
  argv: string[],
  options: {
    turns?: ScriptTurn[]
    stdin?: string | 'tty'
    model?: string | null
    signal?: AbortSignal
    plugins?: TauPlugin[]
    cwd?: string
    /** Called with the kernel before the run starts. */
    onKernel?: (kernel: TestKernel) => void
  } = {},
) {
  const kernel = await createTestKernel({
    plugins: [providers, providerScripted, toolsPlugin([greet]), agent, ...(options.plugins ?? []), headless],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    config: {
      ...(options.model === null ? {} : { model: options.model ?? 'scripted:test' }),
      providers: { scripted: { turns: options.turns ?? [] } },
    },
  })
  options.onKernel?.(kernel)
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  let stdin: NodeJS.ReadableStream
  if (options.stdin === 'tty') stdin = Object.assign(new PassThrough(), { isTTY: true })
  else stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)])
  try {
    const code = await kernel.resolve(frontendRef).run({
      argv,
      signal: options.signal ?? new AbortController().signal,
      stdin,
      stdout,
      stderr,
    })
    const prompts = kernel
      .resolve(scriptedProviderRef)
      .requests.map((request) => request.messages.at(-1))
      .filter((message) => message?.role === 'user')
      .map((message) => {
        const content = message!.content
        return typeof content === 'string'
          ? content
          : content.map((part) => (part.type === 'text' ? part.text : '')).join('')
      })
    return { code, stdout: out, stderr: err, kernel, prompts }
  } finally {
    await kernel.stop()
  }
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('headless arguments', () => {
  it('reads -p with the prompt before or after, the claude spellings, and rule lists', () => {
    const parsed = parseHeadlessArgs([
      '-p',
      'fix the bug',
      '--output-format',
      'stream-json',
      '--model',
      'ollama:qwen3:8b',
      '--permission-mode',
      'acceptEdits',
      '--allowed-tools',
      'Bash(npm test:*), Read',
      '--allowedTools',
      'Grep',
      '--disallowed-tools',
      'Write,Bash(rm -rf:*)',
      '--max-turns',
      '7',
      '--cwd',
      'sub',
      '--verbose',
    ])
    expect(parsed).toEqual({
      ok: true,
      value: {
        print: true,
        prompt: 'fix the bug',
        outputFormat: 'stream-json',
        model: 'ollama:qwen3:8b',
        permissionMode: 'acceptEdits',
        allowedTools: ['Bash(npm test:*)', 'Read', 'Grep'],
        disallowedTools: ['Write', 'Bash(rm -rf:*)'],
        maxTurns: 7,
        cwd: 'sub',
        verbose: true,
      },
    })
    expect(parseHeadlessArgs(['fix', 'it', '-p'])).toMatchObject({
      ok: true,
      value: { print: true, prompt: 'fix it' },
    })
    expect(parseHeadlessArgs(['--print=hello'])).toMatchObject({ ok: true, value: { prompt: 'hello' } })
    expect(parseHeadlessArgs(['-p'])).toMatchObject({ ok: true, value: { print: true, prompt: undefined } })
    expect(splitRules(['Bash(git commit -m "x, y"), Edit(docs/**)  WebFetch(domain:example.com)'])).toEqual([
      'Bash(git commit -m "x, y")',
      'Edit(docs/**)',
      'WebFetch(domain:example.com)',
    ])
  })

  it('rejects what it cannot use, naming the option', () => {
    expect(parseHeadlessArgs(['-p', 'x', '--output-format', 'yaml'])).toEqual({
      ok: false,
      error: "--output-format must be one of text, json, stream-json, not 'yaml'",
    })
    expect(parseHeadlessArgs(['--permission-mode', 'yolo'])).toMatchObject({
      ok: false,
      error: /--permission-mode/,
    })
    expect(parseHeadlessArgs(['--max-turns', '0'])).toMatchObject({ ok: false, error: /--max-turns/ })
    expect(parseHeadlessArgs(['--frobnicate'])).toMatchObject({ ok: false, error: /frobnicate/ })
  })
})

describe('headless frontend', () => {
  it('a slash command as the prompt runs the command file; other text starting with / is sent as typed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tau-headless-slash-'))
    try {
      await mkdir(join(dir, '.tau', 'commands'), { recursive: true })
      await writeFile(join(dir, '.tau', 'commands', 'greet.md'), 'Say hello to $1 in $2.\n')
      const expanded = await runHeadless(['-p', '/greet World French'], {
        turns: [{ text: 'Bonjour.' }],
        plugins: [slashCommands],
        cwd: dir,
      })
      expect(expanded).toMatchObject({
        code: 0,
        stdout: 'Bonjour.\n',
        prompts: ['Say hello to World in French.'],
      })
      const unknown = await runHeadless(['-p', '/nothing here'], {
        turns: [{ text: 'ok' }],
        plugins: [slashCommands],
        cwd: dir,
      })
      expect(unknown).toMatchObject({ code: 0, prompts: ['/nothing here'] })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('runs the built-in session commands through the SessionController, without a model call', async () => {
    const help = await runHeadless(['-p', '/help'])
    expect(help).toMatchObject({ code: 0, prompts: [] })
    expect(help.stdout).toMatch(/^Commands\n/)
    expect(help.stdout).toContain('/compact [focus]')
    expect(help.stdout).toContain('/mode MODE')
    const compact = await runHeadless(['-p', '/compact'])
    expect(compact).toMatchObject({
      code: 0,
      prompts: [],
      stdout: '/compact needs the session plugin, which is not loaded\n',
    })
    // json: command output stays off stdout (it is protocol there).
    const cost = await runHeadless(['-p', '/cost', '--output-format', 'json'])
    expect(cost).toMatchObject({ code: 0, stdout: '', stderr: 'session: 0 in · 0 out\n', prompts: [] })
  })

  it('text: prints the final answer only, exit 0', async () => {
    const result = await runHeadless(['-p', 'say hi'], { turns: [{ text: 'Hi there.' }] })
    expect(result).toMatchObject({ code: 0, stdout: 'Hi there.\n', stderr: '' })
  })

  it('json: one result object in Claude Code shape', async () => {
    const result = await runHeadless(['-p', 'say hi', '--output-format', 'json'], {
      turns: [{ text: 'Hi.', usage: { inputTokens: 12, outputTokens: 3, cacheReadTokens: 2 } }],
    })
    expect(result.code).toBe(0)
    const [only, ...rest] = lines(result.stdout)
    expect(rest).toEqual([])
    expect(only).toMatchObject({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'Hi.',
      num_turns: 1,
      stop_reason: 'end_turn',
      total_cost_usd: 0,
      usage: {
        input_tokens: 10,
        cache_read_input_tokens: 2,
        cache_creation_input_tokens: 0,
        output_tokens: 3,
      },
      permission_denials: [],
      session_id: expect.any(String),
      duration_ms: expect.any(Number),
      uuid: expect.any(String),
    })
  })

  it('stream-json: system/init, assistant, user tool_result, result; a denial is listed', async () => {
    const result = await runHeadless(['-p', 'greet ada', '--output-format', 'stream-json'], {
      turns: [
        {
          reasoning: 'I should greet.',
          text: 'Greeting.',
          toolCalls: [{ id: 'g1', name: 'Greet', input: { name: 'ada' } }],
        },
        { text: 'Could not greet.' },
      ],
    })
    expect(result.code).toBe(0)
    const out = lines(result.stdout)
    expect(out.map((line) => line.type)).toEqual(['system', 'assistant', 'user', 'assistant', 'result'])
    const sessionId = out[0]!.session_id
    expect(out.every((line) => line.session_id === sessionId)).toBe(true)
    expect(out[0]).toMatchObject({
      subtype: 'init',
      model: 'scripted:test',
      tools: ['Greet'],
      permissionMode: 'default',
      mcp_servers: [],
    })
    expect(out[1]).toMatchObject({
      parent_tool_use_id: null,
      message: {
        role: 'assistant',
        type: 'message',
        stop_reason: 'tool_use',
        content: [
          { type: 'thinking', thinking: 'I should greet.' },
          { type: 'text', text: 'Greeting.' },
          { type: 'tool_use', id: 'g1', name: 'Greet', input: { name: 'ada' } },
        ],
      },
    })
    // No permissions plugin here: the call is denied, with the reason, since nobody can approve it.
    expect(out[2]).toMatchObject({
      message: {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'g1',
            is_error: true,
            content: expect.stringContaining('non-interactive'),
          },
        ],
      },
    })
    expect(out[4]).toMatchObject({
      subtype: 'success',
      result: 'Could not greet.',
      num_turns: 2,
      permission_denials: [{ tool_name: 'Greet', tool_use_id: 'g1', tool_input: { name: 'ada' } }],
    })
  })

  it('--allowed-tools with a bare name allows it; --verbose shows tool calls on stderr', async () => {
    const result = await runHeadless(
      ['-p', 'greet', '--allowed-tools', 'Greet', '--verbose', '--output-format', 'json'],
      {
        turns: [{ toolCalls: [{ id: 'g1', name: 'Greet', input: { name: 'bo' } }] }, { text: 'Greeted bo.' }],
      },
    )
    expect(result.code).toBe(0)
    // json with --verbose: every message as one array (as claude -p), the result last.
    const all = lines(result.stdout)[0] as unknown as Array<Record<string, unknown>>
    expect(all.at(-1)).toMatchObject({ result: 'Greeted bo.', permission_denials: [] })
    expect(result.stderr).toContain('tau: Greet {"name":"bo"}')
    expect(result.stderr).toMatch(/tau: Greet ok in \d+ ms/)
  })

  it('a run that fails exits 1 with the reason on stderr and in the JSON result (max turns)', async () => {
    const result = await runHeadless(
      ['-p', 'loop', '--max-turns', '1', '--output-format', 'json', '--allowed-tools', 'Greet'],
      {
        turns: [{ toolCalls: [{ id: 'g1', name: 'Greet', input: { name: 'x' } }] }, { text: 'never' }],
      },
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('tau: the run reached its limit of 1 turns\n')
    expect(lines(result.stdout)[0]).toMatchObject({
      subtype: 'error_max_turns',
      is_error: true,
      errors: ['the run reached its limit of 1 turns'],
      error: { code: 'TAU_AGENT_MAX_TURNS' },
    })
  })

  it('text: a model error exits 1 with nothing on stdout', async () => {
    const result = await runHeadless(['-p', 'x'], { turns: [{ status: 401, errorMessage: 'bad key' }] })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^tau: the model call failed: .*bad key/)
  })

  it('reads the prompt from stdin when none is given', async () => {
    const result = await runHeadless(['-p'], { stdin: 'from stdin\n', turns: [{ text: 'got it' }] })
    expect(result.code).toBe(0)
    expect(result.stdout).toBe('got it\n')
    const piped = await runHeadless([], { stdin: 'piped, no -p', turns: [{ text: 'fine' }] })
    expect(piped.stdout).toBe('fine\n')
  })

  it('without -p and with a terminal: the interactive terminal is not there yet, exit 2', async () => {
    const result = await runHeadless([], { stdin: 'tty' })
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `${INTERACTIVE_UNAVAILABLE}\n` })
    const empty = await runHeadless(['-p', '--output-format', 'json'], { stdin: '' })
    expect(empty.code).toBe(2)
    expect(lines(empty.stdout)[0]).toMatchObject({
      is_error: true,
      errors: [expect.stringContaining('no prompt')],
    })
  })

  it('usage errors exit 2 with the usage; no model exits 1 naming what to set', async () => {
    const bad = await runHeadless(['-p', 'x', '--output-format', 'yaml'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('usage: tau start -p')
    const none = await runHeadless(['-p', 'x', '--output-format', 'json'], { model: null })
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no model is configured.*--model/)
    expect(lines(none.stdout)[0]).toMatchObject({ is_error: true, error: { code: 'TAU_AGENT_NO_MODEL' } })
  })

  it('aborting (Ctrl-C) ends the run with an aborted result', async () => {
    const controller = new AbortController()
    // Abort once the model call is under way (not after a fixed delay, which on a busy machine can
    // fire while the prompt is still being read).
    let poll: NodeJS.Timeout | undefined
    const result = await runHeadless(['-p', 'x', '--output-format', 'json'], {
      // 14 s of streaming: the abort lands mid-answer however late the poll runs.
      turns: [{ text: 'a long answer that streams slowly, '.repeat(20), deltaChars: 1, chunkDelayMs: 20 }],
      signal: controller.signal,
      onKernel: (kernel) => {
        const requests = kernel.resolve(scriptedProviderRef).requests
        poll = setInterval(() => {
          if (requests.length > 0) controller.abort()
        }, 10)
      },
    }).finally(() => clearInterval(poll))
    expect(result.code).toBe(130)
    expect(lines(result.stdout)[0]).toMatchObject({
      subtype: 'error_during_execution',
      terminal_reason: 'aborted',
    })
  })
})
