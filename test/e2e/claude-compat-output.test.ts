/**
 * Claude Code compatibility, output shapes of `tau start -p`, with the real binary and the
 * scripted provider: the API's stop_reason spelling, a limit's terminal_reason with no result,
 * and `--output-format json --verbose` as the array of every message.
 */
import { describe, expect, it } from 'vitest'
import { type Project, useProjects } from './run-tau.js'

const project = useProjects()

async function fixture(turns: unknown[], files: Record<string, string> = {}): Promise<Project> {
  const p = await project(files)
  // JSON, not tau.config.ts: the config's form is not under test, and jiti's transpile of a
  // TypeScript config is about 0.45 s of CPU on a project's first run.
  await p.write({
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'scripted:x',
      providers: { scripted: { turns } },
    }),
  })
  return p
}

describe('output shapes, as in claude -p', () => {
  it("stop_reason is the API's spelling; --output-format json --verbose prints every message as one array", async () => {
    const p = await fixture([
      { toolCalls: [{ id: 'ls', name: 'Glob', input: { pattern: '*.md' } }] },
      { text: 'no markdown here' },
    ])
    const result = await p.run(['start', '-p', 'look', '--output-format', 'json', '--verbose'])
    expect(result.code, result.stderr).toBe(0)
    const all = JSON.parse(result.stdout) as Array<Record<string, unknown>>
    expect(Array.isArray(all)).toBe(true)
    expect(all.map((m) => m.type)).toEqual(['system', 'assistant', 'user', 'assistant', 'result'])
    expect((all[1]!.message as { stop_reason: string }).stop_reason).toBe('tool_use')
    expect(all.at(-1)).toMatchObject({ type: 'result', stop_reason: 'end_turn', result: 'no markdown here' })
    expect(all.at(-1)).not.toHaveProperty('terminal_reason')
  })

  it('a run stopped by --max-turns reports terminal_reason and result null', async () => {
    const p = await fixture([
      { toolCalls: [{ id: 'a', name: 'Glob', input: { pattern: '*' } }] },
      { toolCalls: [{ id: 'b', name: 'Glob', input: { pattern: '*' } }] },
    ])
    const result = await p.run(['start', '-p', 'loop', '--output-format', 'json', '--max-turns', '1'])
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({
      type: 'result',
      subtype: 'error_max_turns',
      is_error: true,
      result: null,
      terminal_reason: 'max-turns',
      stop_reason: 'tool_use',
      num_turns: 2,
    })
  })
})

// Claude Code's num_turns starts at 1 for the prompt and adds one per user message the run adds:
// each tool result (one each, also for calls made together) and each message a Stop hook sends
// back; a subagent's messages do not count. A --max-turns stop reports the limit plus one.
describe('num_turns, counted as Claude Code counts it', () => {
  const glob = (id: string) => ({ id, name: 'Glob', input: { pattern: '*' } })
  const resultOf = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>

  it('the prompt, then one per tool result: two calls together and one alone are 4, in 3 model calls', async () => {
    const p = await fixture([
      { toolCalls: [glob('a'), glob('b')] },
      { toolCalls: [glob('c')] },
      { text: 'done' },
    ])
    const result = await p.run(['start', '-p', 'look', '--output-format', 'json'])
    expect(result.code, result.stderr).toBe(0)
    expect(resultOf(result.stdout)).toMatchObject({ subtype: 'success', result: 'done', num_turns: 4 })
  })

  it('an answer with no tool call is 1', async () => {
    const p = await fixture([{ text: 'hi' }])
    const result = await p.run(['start', '-p', 'hi', '--output-format', 'json'])
    expect(result.code, result.stderr).toBe(0)
    expect(resultOf(result.stdout)).toMatchObject({ subtype: 'success', num_turns: 1 })
  })

  it("a subagent's calls do not count, its Task call's result does", async () => {
    const p = await fixture([
      { toolCalls: [{ id: 't', name: 'Task', input: { description: 'look', prompt: 'look around' } }] },
      { toolCalls: [glob('c1'), glob('c2')] },
      { toolCalls: [glob('c3')] },
      { text: 'nothing here' },
      { text: 'the subagent found nothing' },
    ])
    const result = await p.run(['start', '-p', 'delegate', '--output-format', 'json'])
    expect(result.code, result.stderr).toBe(0)
    expect(resultOf(result.stdout)).toMatchObject({
      subtype: 'success',
      result: 'the subagent found nothing',
      num_turns: 2,
    })
  })

  it('--max-turns 2 with two calls at once, then one: the limit plus one (3), not one per result', async () => {
    const p = await fixture([
      { toolCalls: [glob('a'), glob('b')] },
      { toolCalls: [glob('c')] },
      { text: 'never' },
    ])
    const result = await p.run(['start', '-p', 'loop', '--output-format', 'json', '--max-turns', '2'])
    expect(result.code).toBe(1)
    expect(resultOf(result.stdout)).toMatchObject({
      subtype: 'error_max_turns',
      terminal_reason: 'max-turns',
      num_turns: 3,
    })
  })

  it('a message a Stop hook sends back counts as a turn', async () => {
    const block = JSON.stringify({ decision: 'block', reason: 'check once more' })
    const p = await fixture([{ text: 'first' }, { text: 'second' }], {
      '.claude/settings.json': JSON.stringify({
        hooks: {
          Stop: [
            {
              hooks: [
                {
                  type: 'command',
                  command: `grep -q '"stop_hook_active":true' || echo '${block}'`,
                },
              ],
            },
          ],
        },
      }),
    })
    const result = await p.run(['start', '-p', 'go', '--output-format', 'json', '--trust'])
    expect(result.code, result.stderr).toBe(0)
    expect(resultOf(result.stdout)).toMatchObject({ subtype: 'success', result: 'second', num_turns: 2 })
  })
})
