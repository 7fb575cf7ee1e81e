/**
 * Claude Code compatibility, the flags of `tau start -p`, with the real binary against a scripted
 * Anthropic server on loopback (the real wire): each flag does what it does in `claude -p`.
 */
import { describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { useAnthropicFixtures } from './anthropic-fixture.js'
import type { Project } from './run-tau.js'

const anthropicFixture = useAnthropicFixtures()
const fixture = (script: (p: Project) => ScriptTurn[], files: Record<string, string> = {}) =>
  anthropicFixture(script, { files })

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

/** The system prompt of a Messages API request: a string or text blocks. */
const systemText = (body: Record<string, unknown>): string =>
  typeof body.system === 'string'
    ? body.system
    : ((body.system ?? []) as Array<{ text: string }>).map((b) => b.text).join('\n')

describe('tau start -p flags, as in claude -p', () => {
  it('--system-prompt replaces the system prompt, --append-system-prompt adds to it; --model sonnet is an alias', async () => {
    const f = await fixture(() => [{ text: 'one' }, { text: 'two' }])
    const replaced = await f.run([
      'start',
      '-p',
      'hi',
      '--system-prompt',
      'You are a pirate.',
      '--model',
      'sonnet',
    ])
    expect(replaced.code, replaced.stderr).toBe(0)
    const appended = await f.run(['start', '-p', 'hi', '--append-system-prompt', 'Always say arr.'])
    expect(appended.code, appended.stderr).toBe(0)
    const [first, second] = f.bodies()
    expect(systemText(first!)).toBe('You are a pirate.')
    expect(first!.model).toBe('claude-sonnet-4-5')
    expect(systemText(second!)).toContain('Always say arr.')
    expect(systemText(second!).length).toBeGreaterThan('Always say arr.'.length + 100)
  })

  it('--input-format stream-json runs many user turns in one session; --replay-user-messages echoes them', async () => {
    const f = await fixture(() => [{ text: 'first answer' }, { text: 'second answer' }])
    const input = [
      { type: 'user', message: { role: 'user', content: 'question one' } },
      { type: 'user', message: { role: 'user', content: [{ type: 'text', text: 'question two' }] } },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n')
    const result = await f.run(
      [
        'start',
        '-p',
        '--input-format',
        'stream-json',
        '--output-format',
        'stream-json',
        '--replay-user-messages',
        '--session-id',
        '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      ],
      { stdin: `${input}\n` },
    )
    expect(result.code, result.stderr + result.stdout).toBe(0)
    const all = lines(result.stdout)
    const results = all.filter((l) => l.type === 'result')
    expect(results.map((r) => r.result)).toEqual(['first answer', 'second answer'])
    // Each user line's result counts its own turns.
    expect(results.map((r) => r.num_turns)).toEqual([1, 1])
    expect(new Set(all.map((l) => l.session_id))).toEqual(new Set(['3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d']))
    expect(all.filter((l) => l.isReplay === true)).toHaveLength(2)
    // The second request carries the first exchange: one conversation.
    const second = f.bodies()[1] as { messages: Array<{ role: string }> }
    expect(second.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
  })

  it('--json-schema returns structured_output, and sends a mismatch back once', async () => {
    const f = await fixture(() => [{ text: '{"answer": "four"}' }, { text: '{"answer": 4}' }])
    const schema = JSON.stringify({
      type: 'object',
      properties: { answer: { type: 'number' } },
      required: ['answer'],
    })
    const result = await f.run(['start', '-p', '2+2?', '--output-format', 'json', '--json-schema', schema])
    expect(result.code, result.stderr).toBe(0)
    // The retry is a turn of the same prompt, as Claude Code's retries are of one query.
    expect(JSON.parse(result.stdout)).toMatchObject({
      is_error: false,
      structured_output: { answer: 4 },
      num_turns: 2,
    })
    const retry = f.bodies()[1] as { messages: Array<{ content: unknown }> }
    expect(JSON.stringify(retry.messages.at(-1))).toMatch(/did not match the required JSON Schema: answer/)
  })

  it('--include-partial-messages streams text deltas as stream_event lines', async () => {
    const f = await fixture(() => [{ text: 'streamed text' }])
    const result = await f.run([
      'start',
      '-p',
      'hi',
      '--output-format',
      'stream-json',
      '--include-partial-messages',
    ])
    expect(result.code, result.stderr).toBe(0)
    const deltas = lines(result.stdout).filter(
      (l) => l.type === 'stream_event' && (l.event as { type: string }).type === 'content_block_delta',
    )
    const text = deltas
      .map((l) => (l.event as { delta: { type: string; text?: string } }).delta)
      .filter((d) => d.type === 'text_delta')
      .map((d) => d.text)
      .join('')
    expect(text).toBe('streamed text')
  })

  it('--tools limits the built-in tools offered; --dangerously-skip-permissions and --permission-mode dontAsk decide as in Claude Code', async () => {
    const f = await fixture((p) => [
      { text: 'listed' },
      { toolCalls: [{ id: 'w1', name: 'Write', input: { file_path: p.path('a.txt'), content: 'x' } }] },
      { text: 'wrote' },
      { toolCalls: [{ id: 'w2', name: 'Write', input: { file_path: p.path('b.txt'), content: 'x' } }] },
      { text: 'denied' },
    ])
    expect((await f.run(['start', '-p', 'hi', '--tools', 'Read,Grep'])).code).toBe(0)
    const offered = (f.bodies()[0]!.tools as Array<{ name: string }>).map((t) => t.name)
    expect(offered).toContain('Read')
    expect(offered).toContain('Grep')
    expect(offered).not.toContain('Bash')

    const bypass = await f.run(['start', '-p', 'write', '--dangerously-skip-permissions'])
    expect(bypass.code, bypass.stderr).toBe(0)
    expect(f.p.exists('a.txt')).toBe(true)

    const dontAsk = await f.run([
      'start',
      '-p',
      'write',
      '--output-format',
      'json',
      '--permission-mode',
      'dontAsk',
    ])
    expect(dontAsk.code, dontAsk.stderr).toBe(0)
    expect(f.p.exists('b.txt')).toBe(false)
    expect(JSON.parse(dontAsk.stdout)).toMatchObject({ permission_denials: [{ tool_name: 'Write' }] })
  })

  it('--mcp-config adds servers (not held by trust); --strict-mcp-config leaves .mcp.json out', async () => {
    const f = await fixture(() => [{ text: 'a' }, { text: 'b' }])
    const server = (name: string) => ({
      command: 'node',
      args: ['-e', `process.title=${JSON.stringify(name)}`],
    })
    await f.p.write({ '.mcp.json': JSON.stringify({ mcpServers: { project: server('project') } }) })
    const extra = JSON.stringify({ mcpServers: { extra: server('extra') } })
    const names = (stdout: string) =>
      (lines(stdout)[0]!.mcp_servers as Array<{ name: string }>).map((s) => s.name).sort()
    const both = await f.run(['start', '-p', 'hi', '--output-format', 'stream-json', '--mcp-config', extra])
    expect(both.code, both.stderr).toBe(0)
    expect(names(both.stdout)).toEqual(['extra', 'project'])
    const strict = await f.run([
      'start',
      '-p',
      'hi',
      '--output-format',
      'stream-json',
      '--mcp-config',
      extra,
      '--strict-mcp-config',
    ])
    expect(strict.code, strict.stderr).toBe(0)
    expect(names(strict.stdout)).toEqual(['extra'])
  })

  it('says which flag is wrong, with usage, and exits 2', async () => {
    const f = await fixture(() => [])
    const bad = await f.run(['start', '-p', 'hi', '--session-id', 'not-a-uuid'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--session-id must be a UUID, not 'not-a-uuid'")
    const schema = await f.run(['start', '-p', 'hi', '--json-schema', '{oops'])
    expect(schema.code).toBe(2)
    expect(schema.stderr).toContain('--json-schema is not valid JSON')
  })
})
