/**
 * `tau start -p` end to end: the real binary, the real plugins (providers, sandbox, tools,
 * permissions, agent, headless), and a scripted model served on loopback in each provider's real
 * wire format. A multi-step task (Grep for a bug, Read, Edit, run the tests with Bash, report)
 * leaves the workspace right; a denied tool, a tool error, broken tool arguments, an unknown
 * tool, a budget stop and an aborted turn each behave as described.
 *
 * The fixture config names the plugins, so these tests do not depend on what the `coding` preset
 * holds today: a tau.config.json of the coding preset with all its other plugins disabled
 * (run-tau.ts's builtinPluginsJson), so a run loads no config module, 'tau-agent' or jiti (0.3 s
 * of CPU each run). Loading plugins by path is cli-plugins-config's subject, importing them from
 * `tau-agent/plugins` sandbox-escapes'.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import {
  type ScriptedServer,
  startScriptedServer,
  type WireFormat,
} from '../../plugins/provider-scripted/server.js'
import { builtinPluginsJson, type Project, useProjects, waitForFile } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const PLUGINS = [
  'providers',
  'provider-ollama',
  'provider-openai',
  'provider-anthropic',
  'sandbox',
  'tools',
  'permissions',
  'agent',
  'headless',
]

const MODELS: Record<WireFormat, string> = {
  ollama: 'ollama:scripted-model',
  openai: 'openai:scripted-model',
  anthropic: 'anthropic:scripted-model',
}

const FIXTURE = {
  'package.json':
    '{ "name": "fixture", "private": true, "type": "module", "scripts": { "test": "node test.mjs" } }\n',
  'src/math.mjs': 'export function add(a, b) {\n  return a - b\n}\n',
  'test.mjs': `import { add } from './src/math.mjs'
if (add(2, 3) !== 5) {
  console.error('FAIL: add(2, 3) is ' + add(2, 3))
  process.exit(1)
}
console.log('all tests passed')
`,
}

interface AgentProject {
  readonly p: Project
  readonly server: ScriptedServer
  /** Runs `tau start ...args`; the provider's API key is in the environment. */
  run(args: readonly string[]): ReturnType<Project['run']>
  spawn(args: readonly string[]): ReturnType<Project['spawn']>
}

/** A fixture project whose config points the provider of `format` at a scripted server. */
async function agentProject(
  format: WireFormat,
  script: (p: Project) => ScriptTurn[],
  agentConfig: Record<string, unknown> = {},
  /** More built-in plugins, by name. */
  extra: readonly string[] = [],
): Promise<AgentProject> {
  const p = await project(FIXTURE)
  const server = await startScriptedServer({ format, script: script(p) })
  servers.push(server)
  const provider =
    format === 'ollama'
      ? { ollama: { host: server.url } }
      : format === 'openai'
        ? { openai: { baseURL: `${server.url}/v1` } }
        : { anthropic: { baseURL: server.url } }
  await p.write({
    'tau.config.json': builtinPluginsJson([...PLUGINS, ...extra], {
      model: MODELS[format],
      providers: provider,
      agent: agentConfig,
    }),
  })
  const env = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' }
  return {
    p,
    server,
    run: (args) => p.run(args, { env }),
    spawn: (args) => p.spawn(args, { env }),
  }
}

type Line = Record<string, unknown> & { type: string }

function jsonLines(stdout: string): Line[] {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line)
}

interface ToolResultBlock {
  type: 'tool_result'
  tool_use_id: string
  content: string | Array<{ type: string; text?: string }>
  is_error: boolean
}

function toolResults(lines: Line[]): ToolResultBlock[] {
  return lines
    .filter((line) => line.type === 'user')
    .flatMap((line) => (line.message as { content: ToolResultBlock[] }).content)
    .filter((block) => block.type === 'tool_result')
}

const bashCall = (id: string, command: string): ScriptTurn => ({
  toolCalls: [{ id, name: 'Bash', input: { command } }],
})

const textOf = (block: ToolResultBlock) =>
  typeof block.content === 'string' ? block.content : block.content.map((part) => part.text ?? '').join('')

/** Chat requests only (Ollama's provider also asks /api/show for capabilities). */
const chatRequests = (server: ScriptedServer) =>
  server.requests.filter((request) => /chat|messages/.test(request.path))

describe.concurrent('tau start -p (agent, end to end)', () => {
  for (const format of ['openai', 'anthropic', 'ollama'] as const) {
    it(`${format}: Grep for the bug, Read, Edit, run the tests with Bash, report; the workspace is right`, async () => {
      const a = await agentProject(format, (p) => [
        {
          text: 'Looking for the bug.',
          toolCalls: [{ name: 'Grep', input: { pattern: 'a - b', output_mode: 'content', '-n': true } }],
        },
        { toolCalls: [{ name: 'Read', input: { file_path: p.path('src/math.mjs') } }] },
        {
          toolCalls: [
            {
              name: 'Edit',
              input: {
                file_path: p.path('src/math.mjs'),
                old_string: 'return a - b',
                new_string: 'return a + b',
              },
            },
          ],
        },
        { toolCalls: [{ name: 'Bash', input: { command: 'node test.mjs', description: 'Run the tests' } }] },
        { text: 'Fixed add() in src/math.mjs: it subtracted. The tests pass.' },
      ])
      const result = await a.run([
        'start',
        '-p',
        'Find the bug in add(), fix it, and run the tests',
        '--output-format',
        'stream-json',
        '--permission-mode',
        'acceptEdits',
        '--allowed-tools',
        'Bash(node test.mjs)',
      ])
      expect(result.code, result.stderr).toBe(0)
      const lines = jsonLines(result.stdout)
      expect(lines.map((line) => line.type)).toEqual([
        'system',
        ...Array.from({ length: 4 }, () => ['assistant', 'user']).flat(),
        'assistant',
        'result',
      ])
      expect(lines[0]).toMatchObject({ subtype: 'init', cwd: a.p.dir, model: MODELS[format] })
      expect(lines[0]!.tools).toEqual(
        expect.arrayContaining(['Read', 'Edit', 'Write', 'Grep', 'Glob', 'Bash']),
      )
      const [grep, read, edit, bash] = toolResults(lines)
      expect(grep!.is_error, textOf(grep!)).toBe(false)
      expect(textOf(grep!)).toContain('math.mjs')
      expect(textOf(read!)).toContain('return a - b')
      expect(edit!.is_error, textOf(edit!)).toBe(false)
      expect(bash!.is_error, textOf(bash!)).toBe(false)
      expect(textOf(bash!)).toContain('all tests passed')
      expect(lines.at(-1)).toMatchObject({
        type: 'result',
        subtype: 'success',
        is_error: false,
        num_turns: 5,
        result: 'Fixed add() in src/math.mjs: it subtracted. The tests pass.',
        permission_denials: [],
      })
      // The workspace is right: the fix is on disk and the tests pass outside tau too.
      expect(readFileSync(a.p.path('src/math.mjs'), 'utf8')).toBe(
        'export function add(a, b) {\n  return a + b\n}\n',
      )
      expect(execFileSync(process.execPath, ['test.mjs'], { cwd: a.p.dir, encoding: 'utf8' })).toBe(
        'all tests passed\n',
      )
      expect(chatRequests(a.server)).toHaveLength(5)
      expect(a.server.remaining()).toBe(0)
    })
  }

  it('answers an unknown tool, broken arguments, a failing tool and a denied tool, and goes on', async () => {
    const a = await agentProject('openai', (p) => [
      {
        toolCalls: [
          { id: 'call_unknown', name: 'Frobnicate', input: {} },
          { id: 'call_broken', name: 'Read', rawArguments: '{"file_path": "src/ma' },
          { id: 'call_failing', name: 'Read', input: { file_path: p.path('missing.txt') } },
          { id: 'call_denied', name: 'Bash', input: { command: 'rm -rf src' } },
        ],
      },
      { text: 'Some calls did not work; src is untouched.' },
    ])
    const result = await a.run(['start', '-p', 'Try things', '--output-format', 'stream-json'])
    expect(result.code, result.stderr).toBe(0)
    const lines = jsonLines(result.stdout)
    const byId = new Map(toolResults(lines).map((block) => [block.tool_use_id, block]))
    const unknown = byId.get('call_unknown')!
    expect(unknown.is_error).toBe(true)
    expect(textOf(unknown)).toMatch(/no tool named 'Frobnicate'.*\bRead\b.*/)
    expect(textOf(unknown)).toContain('Bash')
    const broken = byId.get('call_broken')!
    expect(broken.is_error).toBe(true)
    expect(textOf(broken)).toMatch(/arguments for Read are not valid JSON/)
    const failing = byId.get('call_failing')!
    expect(failing.is_error).toBe(true)
    expect(textOf(failing)).toContain('missing.txt')
    const denied = byId.get('call_denied')!
    expect(denied.is_error).toBe(true)
    expect(textOf(denied)).toMatch(/Permission to use Bash was denied: .*non-interactive/)
    // Claude Code's count: the prompt, then one per tool result (four calls made together).
    expect(lines.at(-1)).toMatchObject({
      subtype: 'success',
      num_turns: 5,
      permission_denials: [
        { tool_name: 'Bash', tool_use_id: 'call_denied', tool_input: { command: 'rm -rf src' } },
      ],
    })
    expect(existsSync(a.p.path('src/math.mjs'))).toBe(true)
    // The model got every result back, in the order it asked, on the real wire.
    const last = chatRequests(a.server).at(-1)!.body as {
      messages: Array<{ role: string; tool_call_id?: string }>
    }
    expect(last.messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual([
      'call_unknown',
      'call_broken',
      'call_failing',
      'call_denied',
    ])
  })

  it("stream-json prints a subagent's messages with parent_tool_use_id, as claude -p does", async () => {
    const a = await agentProject(
      'openai',
      (p) => [
        {
          toolCalls: [
            {
              id: 'call_task',
              name: 'Task',
              input: {
                description: 'Read math',
                prompt: 'Read src/math.mjs',
                subagent_type: 'general-purpose',
              },
            },
          ],
        },
        { toolCalls: [{ id: 'call_read', name: 'Read', input: { file_path: p.path('src/math.mjs') } }] },
        { text: 'add() subtracts.' },
        { text: 'The subagent found it: add() subtracts.' },
      ],
      {},
      ['subagents'],
    )
    const result = await a.run(['start', '-p', 'Find the bug', '--output-format', 'stream-json'])
    expect(result.code, result.stderr).toBe(0)
    const lines = jsonLines(result.stdout)
    const parentOf = (line: Line) => line.parent_tool_use_id
    // One init (the run's), one result (the run's), last.
    expect(lines.filter((line) => line.type === 'system')).toHaveLength(1)
    expect(lines.filter((line) => line.type === 'result')).toHaveLength(1)
    const sessionId = lines[0]!.session_id
    expect(lines.every((line) => line.session_id === sessionId)).toBe(true)
    const child = lines.filter((line) => parentOf(line) === 'call_task')
    expect(child.map((line) => line.type)).toEqual(['user', 'assistant', 'user', 'assistant'])
    expect(child[0]!.message).toEqual({
      role: 'user',
      content: [{ type: 'text', text: 'Read src/math.mjs' }],
    })
    expect((child[1]!.message as { content: unknown[] }).content).toEqual([
      { type: 'tool_use', id: 'call_read', name: 'Read', input: { file_path: a.p.path('src/math.mjs') } },
    ])
    expect(textOf(toolResults([child[2]!])[0]!)).toContain('return a - b')
    // The Task call's own result is the parent's, with the child's report.
    const task = lines.find(
      (line) =>
        line.type === 'user' &&
        parentOf(line) === null &&
        toolResults([line])[0]?.tool_use_id === 'call_task',
    )!
    expect(textOf(toolResults([task])[0]!)).toBe('add() subtracts.')
    expect(lines.indexOf(task)).toBeGreaterThan(lines.indexOf(child.at(-1)!))
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      subtype: 'success',
      num_turns: 2,
      result: 'The subagent found it: add() subtracts.',
    })
  })

  it("a command hook's continue: false stops the run (hook-stopped, exit 1); its systemMessage is shown once on stderr", async () => {
    const a = await agentProject(
      'anthropic',
      () => [bashCall('call_bash', 'touch ran.txt'), { text: 'never' }],
      {},
      ['command-hooks'],
    )
    const answer = JSON.stringify({
      systemMessage: 'checked by the guard',
      continue: false,
      stopReason: 'no shell today',
    })
    await a.p.write({
      '.tau/settings.json': `${JSON.stringify({
        hooks: {
          PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: `echo '${answer}'` }] }],
        },
      })}\n`,
    })
    const result = await a.run([
      'start',
      '-p',
      'Touch a file',
      '--output-format',
      'json',
      '--allowed-tools',
      'Bash',
    ])
    expect(result.code, result.stderr).toBe(1)
    expect(existsSync(a.p.path('ran.txt'))).toBe(false)
    expect(JSON.parse(result.stdout)).toMatchObject({
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      terminal_reason: 'hook-stopped',
      error: { code: 'TAU_AGENT_HOOK_STOPPED', message: 'a hook stopped the run: no shell today' },
    })
    expect(result.stderr.split('checked by the guard')).toHaveLength(2)
    expect(a.server.remaining()).toBe(1)
  })

  it('stops at the token budget: exit 1, the reason on stderr and in the JSON result', async () => {
    const a = await agentProject(
      'anthropic',
      () => [
        {
          toolCalls: [{ name: 'Glob', input: { pattern: '**/*.mjs' } }],
          usage: { inputTokens: 40, outputTokens: 20 },
        },
        { text: 'never reached' },
      ],
      { maxTokens: 50 },
    )
    const result = await a.run(['start', '-p', 'List the modules', '--output-format', 'json'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('tau: the run used 60 tokens, its budget is 50')
    const [only, ...rest] = jsonLines(result.stdout)
    expect(rest).toEqual([])
    expect(only).toMatchObject({
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      terminal_reason: 'token-budget',
      result: null,
      num_turns: 2,
      errors: ['the run used 60 tokens, its budget is 50'],
      error: { code: 'TAU_AGENT_TOKEN_BUDGET' },
      usage: { input_tokens: 40, output_tokens: 20 },
    })
    expect(a.server.remaining()).toBe(1)
  })

  it('Ctrl-C while Bash runs `sleep`: the process group is killed, the turn ends aborted, exit 130', async () => {
    const a = await agentProject('ollama', (p) => [
      {
        toolCalls: [
          {
            name: 'Bash',
            // A sleep of an odd length finds the process in /proc: under bubblewrap `$$` is a pid of
            // the sandbox's own namespace, not the host's.
            input: { command: `touch ${p.path('bash.started')}; sleep 30.4159; touch ${p.path('finished')}` },
          },
        ],
      },
      { text: 'never reached' },
    ])
    const tau = a.spawn([
      'start',
      '-p',
      'Wait a while',
      '--output-format',
      'stream-json',
      '--permission-mode',
      'bypassPermissions',
    ])
    await waitForFile(a.p.path('bash.started'), tau)
    tau.child.kill('SIGINT')
    // Without the kill the run would last the sleep's 30 s: exit 130 and the aborted result below
    // show the interrupt ended it (no timed assertion; speed belongs in bench/).
    const result = await tau.result
    expect(result.code, tau.output()).toBe(130)
    const alive = () =>
      readdirSync('/proc').some((name) => {
        if (!/^\d+$/.test(name)) return false
        try {
          const state = readFileSync(`/proc/${name}/stat`, 'latin1').replace(/^.*\) /s, '')[0]
          return readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('30.4159') && state !== 'Z'
        } catch {
          return false
        }
      })
    expect(alive(), 'the sleep was killed').toBe(false)
    // With the sleep dead nothing is left to write the file: no need to wait before looking.
    expect(existsSync(a.p.path('finished'))).toBe(false)
    const lines = jsonLines(result.stdout)
    const [bash] = toolResults(lines)
    expect(bash).toMatchObject({ is_error: true })
    expect(textOf(bash!)).toMatch(/^Aborted/)
    expect(lines.at(-1)).toMatchObject({ type: 'result', is_error: true, terminal_reason: 'aborted' })
    expect(a.server.remaining()).toBe(1)
  })

  it('--output-format text prints the answer; no prompt and no pipe means no interactive terminal yet', async () => {
    const a = await agentProject('openai', () => [{ text: 'Hello from the scripted model.' }])
    const text = await a.run(['start', '-p', 'Say hello'])
    expect(text).toMatchObject({ code: 0, stdout: 'Hello from the scripted model.\n' })
    const bare = await a.run(['start'])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('interactive terminal is not available yet')
    const badFlag = await a.run(['start', '-p', 'x', '--output-format', 'xml'])
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toContain("--output-format must be one of text, json, stream-json, not 'xml'")
    const badRule = await a.run(['start', '-p', 'x', '--allowed-tools', 'Bash(npm test'])
    expect(badRule.code).toBe(2)
    expect(badRule.stderr).toContain('Bash(npm test')
  })
})
