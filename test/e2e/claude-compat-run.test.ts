/**
 * Claude Code compatibility, what a `tau start -p` run reports and the flags about the run's
 * session, with the real binary against a scripted Anthropic server on loopback (the real wire):
 * the init line's lists and key source, the result's API time and per-model usage, the provider's
 * message ids, tool_use_result, --agents, --fallback-model, --no-session-persistence and --name.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useAnthropicFixtures } from './anthropic-fixture.js'
import { REPO_ROOT, useProjects } from './run-tau.js'

const project = useProjects()
const servers: ScriptedServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

const anthropicFixture = useAnthropicFixtures()
const fixture = (turns: ScriptTurn[], files: Record<string, string> = {}) =>
  anthropicFixture(turns, {
    files,
    providers: {
      // One attempt per call: an overloaded answer is final at once (the fallback test).
      retries: { max: 0 },
      capabilities: { 'anthropic:scripted-model': { pricing: { input: 3, output: 15 } } },
    },
  })

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

describe('what a -p run reports, as claude -p', () => {
  it('apiKeySource names what the OpenAI-wire and Ollama providers used: the variable, a config header, or none — never the key', async () => {
    const server = await startScriptedServer({ format: 'openai', script: [] })
    const ollama = await startScriptedServer({ format: 'ollama', script: [] })
    servers.push(server, ollama)
    const p = await project({})
    const init = async (config: Record<string, unknown>, env: Record<string, string> = {}) => {
      await p.write({ 'tau.config.json': JSON.stringify({ preset: 'coding', ...config }) })
      server.push({ text: 'ok' })
      ollama.push({ text: 'ok' })
      const result = await p.run(['start', '-p', 'hi', '--output-format', 'stream-json', '--verbose'], {
        env,
      })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).not.toContain('sk-secret')
      return lines(result.stdout)[0]!
    }
    const openai = { model: 'openai:scripted-model', providers: { openai: { baseURL: `${server.url}/v1` } } }
    expect(await init(openai, { OPENAI_API_KEY: 'sk-secret-1' })).toMatchObject({
      apiKeySource: 'OPENAI_API_KEY',
    })
    // A keyless local server behind the OpenAI wire: no key anywhere.
    expect(await init(openai)).toMatchObject({ apiKeySource: 'none' })
    const withHeader = {
      model: 'openai:scripted-model',
      providers: {
        openai: { baseURL: `${server.url}/v1`, headers: { Authorization: 'Bearer sk-secret-2' } },
      },
    }
    expect(await init(withHeader)).toMatchObject({ apiKeySource: 'providers.openai.headers' })
    const compatible = {
      model: 'lms:scripted-model',
      providers: { openai: { compatible: { lms: { baseURL: `${server.url}/v1`, apiKeyEnv: 'LMS_KEY' } } } },
    }
    expect(await init(compatible, { LMS_KEY: 'sk-secret-3' })).toMatchObject({ apiKeySource: 'LMS_KEY' })
    // Ollama on loopback: OLLAMA_API_KEY is for ollama.com only, so it is not sent here: none.
    const local = { model: 'ollama:scripted-model', providers: { ollama: { host: ollama.url } } }
    expect(await init(local, { OLLAMA_API_KEY: 'sk-secret-4' })).toMatchObject({ apiKeySource: 'none' })
  })

  it('init lists slash commands, agents (--agents too) and skills, and the key source; assistant lines carry the provider message id; user lines tool_use_result; the result duration_api_ms and modelUsage', async () => {
    const f = await fixture(
      [
        {
          toolCalls: [{ id: 'g1', name: 'Glob', input: { pattern: '*.txt' } }],
          usage: { inputTokens: 100, outputTokens: 10 },
        },
        { text: 'one file', usage: { inputTokens: 120, outputTokens: 5 } },
      ],
      {
        'a.txt': 'hello\n',
        '.claude/commands/hello.md': '---\ndescription: say hello\n---\nSay hello.\n',
        '.claude/skills/greeting/SKILL.md':
          '---\nname: greeting\ndescription: How to greet people.\n---\nWave.\n',
      },
    )
    const agents = JSON.stringify({ reviewer: { description: 'Reviews code', prompt: 'You review code.' } })
    const result = await f.run([
      'start',
      '-p',
      'list txt',
      '--output-format',
      'stream-json',
      '--verbose',
      '--agents',
      agents,
    ])
    expect(result.code, result.stderr).toBe(0)
    const out = lines(result.stdout)
    const init = out[0]!
    expect(init).toMatchObject({ type: 'system', subtype: 'init', apiKeySource: 'ANTHROPIC_API_KEY' })
    expect(init.slash_commands).toContain('hello')
    expect(init.agents).toEqual(expect.arrayContaining(['reviewer', 'general-purpose']))
    expect(init.skills).toContain('greeting')
    const assistants = out.filter((l) => l.type === 'assistant')
    expect(assistants).toHaveLength(2)
    for (const line of assistants) {
      // The scripted server's ids (msg_scripted000001 ...), not ones tau made up.
      expect((line.message as { id: string }).id).toMatch(/^msg_scripted\d+$/)
      expect((line.message as { model: string }).model).toBe('anthropic:scripted-model')
    }
    const toolLine = out.find((l) => l.type === 'user')!
    expect(typeof toolLine.tool_use_result).not.toBe('undefined')
    expect(JSON.stringify(toolLine.tool_use_result)).toContain('a.txt')
    const final = out.at(-1)!
    expect(final.type).toBe('result')
    expect(typeof final.duration_api_ms).toBe('number')
    expect(final.duration_api_ms as number).toBeGreaterThanOrEqual(0)
    expect(final.duration_api_ms as number).toBeLessThanOrEqual(final.duration_ms as number)
    const usage = (final.modelUsage as Record<string, Record<string, number>>)['anthropic:scripted-model']!
    expect(usage).toMatchObject({ inputTokens: 220, outputTokens: 15, cacheReadInputTokens: 0 })
    // 220 input at $3/M and 15 output at $15/M.
    expect(usage.costUSD).toBeCloseTo((220 * 3 + 15 * 15) / 1e6, 9)
    expect(final.total_cost_usd).toBeCloseTo(usage.costUSD!, 9)
  })

  it('--agents that is not valid is a usage error naming the field, before any model call', async () => {
    const f = await fixture([{ text: 'never' }])
    const result = await f.run(['start', '-p', 'x', '--agents', '{"reviewer": {"prompt": "p"}}'])
    // Read at setup, as --settings is: exit 1, like the other setup failures.
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('TAU_CLI_USAGE: --agents: reviewer.description')
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(f.models()).toEqual([])
  })

  it('--fallback-model answers when the model is overloaded, for the rest of the run; modelUsage names it', async () => {
    const f = await fixture([
      { status: 529, errorMessage: 'Overloaded' },
      { toolCalls: [{ id: 'g1', name: 'Glob', input: { pattern: '*' } }] },
      { text: 'answered by the fallback' },
    ])
    const result = await f.run([
      'start',
      '-p',
      'go',
      '--output-format',
      'json',
      '--fallback-model',
      'anthropic:backup-model',
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(f.models()).toEqual(['scripted-model', 'backup-model', 'backup-model'])
    expect(result.stderr).toContain('the fallback model anthropic:backup-model answers')
    const final = JSON.parse(result.stdout) as Line
    expect(final).toMatchObject({ subtype: 'success', result: 'answered by the fallback' })
    expect(Object.keys(final.modelUsage as object)).toEqual(['anthropic:backup-model'])
  })

  it('--fallback-model with a provider that is not loaded is a usage error', async () => {
    const f = await fixture([{ text: 'never' }])
    const result = await f.run(['start', '-p', 'x', '--fallback-model', 'nosuch:model'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("--fallback-model nosuch:model: no provider 'nosuch'")
    expect(f.models()).toEqual([])
  })

  it('--no-session-persistence writes no transcript; --name names the session, and --resume takes the name', async () => {
    const f = await fixture([{ text: 'first' }, { text: 'second' }, { text: 'third' }])
    const projects = join(f.p.tauHome, 'projects')
    const transcripts = async (): Promise<string[]> => {
      try {
        const found: string[] = []
        for (const key of await readdir(projects))
          for (const file of await readdir(join(projects, key))) if (file.endsWith('.jsonl')) found.push(file)
        return found
      } catch {
        return []
      }
    }
    const unsaved = await f.run(['start', '-p', 'hi', '--no-session-persistence'])
    expect(unsaved.code, unsaved.stderr).toBe(0)
    expect(unsaved.stdout.trim()).toBe('first')
    expect(await transcripts()).toEqual([])

    const named = await f.run(['start', '-p', 'hi', '--name', 'nightly-review', '--output-format', 'json'])
    expect(named.code, named.stderr).toBe(0)
    const id = (JSON.parse(named.stdout) as { session_id: string }).session_id
    expect(await transcripts()).toEqual([`${id}.jsonl`])
    const listed = await f.run(['sessions'])
    expect(listed.stdout).toContain('nightly-review')
    const resumed = await f.run([
      'start',
      '-p',
      'again',
      '--resume',
      'nightly-review',
      '--output-format',
      'json',
    ])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ session_id: id, result: 'third' })
  })

  it('--permission-prompt-tool: an MCP tool answers the asks headless would deny; its deny reason reaches the model', async () => {
    const f = await fixture([
      {
        toolCalls: [
          { id: 'b1', name: 'Bash', input: { command: 'echo approved-by-tool' } },
          { id: 'w1', name: 'Write', input: { file_path: 'x.txt', content: 'no' } },
        ],
      },
      { text: 'done' },
    ])
    const log = join(f.p.dir, 'approvals.jsonl')
    const server = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'permission-prompt-server.mjs')
    const mcp = JSON.stringify({
      mcpServers: { approver: { command: process.execPath, args: [server], env: { APPROVALS_LOG: log } } },
    })
    const result = await f.run([
      'start',
      '-p',
      'go',
      '--output-format',
      'stream-json',
      '--verbose',
      '--mcp-config',
      mcp,
      '--permission-prompt-tool',
      'mcp__approver__approve',
    ])
    expect(result.code, result.stderr).toBe(0)
    const asked = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool_name: string; tool_use_id: string })
    expect(asked.map((a) => [a.tool_name, a.tool_use_id]).sort()).toEqual([
      ['Bash', 'b1'],
      ['Write', 'w1'],
    ])
    expect(existsSync(join(f.p.dir, 'x.txt'))).toBe(false)
    const out = lines(result.stdout)
    expect(JSON.stringify(out.filter((l) => l.type === 'user'))).toContain('approved-by-tool')
    const final = out.at(-1)!
    expect(final.permission_denials).toEqual([
      { tool_name: 'Write', tool_use_id: 'w1', tool_input: { file_path: 'x.txt', content: 'no' } },
    ])
    const second = JSON.stringify(f.server.requests.filter((r) => r.path.startsWith('/v1/messages'))[1]?.body)
    expect(second).toContain('the approver says no to Write')
  })

  it('--permission-prompt-tool naming no tool is a usage error', async () => {
    const f = await fixture([{ text: 'never' }])
    const result = await f.run(['start', '-p', 'x', '--permission-prompt-tool', 'mcp__nobody__approve'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--permission-prompt-tool mcp__nobody__approve: no such tool')
    expect(f.models()).toEqual([])
  })

  it("command hooks from .claude/settings.json get Claude Code's stdin: Bash's structured tool_response, duration_ms, prompt_id, Stop's last message, SessionEnd's reason", async () => {
    const record = (name: string) => ({
      hooks: [{ type: 'command', command: `{ cat; echo; } >> ${name}.jsonl` }],
    })
    const f = await fixture(
      [
        { toolCalls: [{ id: 'b1', name: 'Bash', input: { command: 'echo out; echo err >&2' } }] },
        { text: 'all done' },
      ],
      {
        '.claude/settings.json': JSON.stringify({
          permissions: { allow: ['Bash(echo:*)'] },
          hooks: {
            PostToolUse: [{ matcher: 'Bash', ...record('post') }],
            Stop: [record('stop')],
            SessionEnd: [record('end')],
          },
        }),
      },
    )
    const result = await f.run([
      'start',
      '-p',
      'go',
      '--output-format',
      'stream-json',
      '--verbose',
      '--trust',
    ])
    expect(result.code, result.stderr).toBe(0)
    const read = async (name: string) =>
      (await readFile(join(f.p.dir, `${name}.jsonl`), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line)
    const [post] = await read('post')
    expect(post).toMatchObject({
      hook_event_name: 'PostToolUse',
      tool_use_id: 'b1',
      // tau's Bash merges stderr into stdout, in order (see docs/claude-code.md).
      tool_response: { stdout: 'out\nerr', stderr: '', interrupted: false, isImage: false },
      duration_ms: expect.any(Number),
      prompt_id: expect.any(String),
    })
    const [stop] = await read('stop')
    expect(stop).toMatchObject({ hook_event_name: 'Stop', last_assistant_message: 'all done' })
    expect(stop!.prompt_id).toBe(post!.prompt_id)
    const [end] = await read('end')
    expect(end).toMatchObject({ hook_event_name: 'SessionEnd', reason: 'prompt_input_exit' })
    // The stream-json user line carries the same structured result.
    const toolLine = lines(result.stdout).find((l) => l.type === 'user')!
    expect(toolLine.tool_use_result).toEqual(post!.tool_response)
  })

  it("settings files' env and model: providers and tool processes see the variables, the model is used; an untrusted project's are not applied", async () => {
    const p = await project()
    const server = await startScriptedServer({
      format: 'anthropic',
      script: [
        { toolCalls: [{ id: 'b1', name: 'Bash', input: { command: 'echo "var=$FROM_SETTINGS"' } }] },
        { text: 'ok' },
      ],
    })
    servers.push(server)
    await p.write({
      // No model and no base URL in tau's config: both come from .claude/settings.json.
      'tau.config.json': JSON.stringify({ preset: 'coding', providers: { retries: { max: 0 } } }),
      '.claude/settings.json': JSON.stringify({
        model: 'claude-from-settings',
        env: { ANTHROPIC_BASE_URL: server.url, FROM_SETTINGS: 'it-works' },
        permissions: { allow: ['Bash(echo:*)'] },
      }),
    })
    const env = { ANTHROPIC_API_KEY: 'sk-ant-test' }
    const trusted = await p.run(['start', '-p', 'go', '--output-format', 'stream-json', '--verbose'], {
      env,
    })
    expect(trusted.code, trusted.stderr).toBe(0)
    const bodies = server.requests.filter((r) => r.path.startsWith('/v1/messages')).map((r) => r.body as Line)
    expect(bodies.map((b) => b.model)).toEqual(['claude-from-settings', 'claude-from-settings'])
    expect(lines(trusted.stdout)[0]).toMatchObject({ model: 'anthropic:claude-from-settings' })
    expect(JSON.stringify(lines(trusted.stdout).find((l) => l.type === 'user'))).toContain('var=it-works')

    const untrusted = await p.run(['start', '-p', 'go'], {
      env: { ...env, TAU_TRUST: '0' },
    })
    expect(untrusted.code).not.toBe(0)
    expect(untrusted.stderr).toContain('env and model of')
    expect(untrusted.stderr).toContain('not applied: the workspace is not trusted')
    expect(server.requests.filter((r) => r.path.startsWith('/v1/messages'))).toHaveLength(2)
  })
})
