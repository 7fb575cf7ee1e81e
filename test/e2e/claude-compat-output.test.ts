/**
 * Claude Code compatibility, output shapes of `tau start -p`, with the real binary and the
 * scripted provider: the API's stop_reason spelling, a limit's terminal_reason with no result,
 * and `--output-format json --verbose` as the array of every message.
 */
import { describe, expect, it } from 'vitest'
import { type Project, useProjects } from './run-tau.js'

const project = useProjects()

async function fixture(turns: unknown[]): Promise<Project> {
  const p = await project()
  await p.write({
    'tau.config.ts': `export default {
  preset: 'coding',
  model: 'scripted:x',
  providers: { scripted: { turns: ${JSON.stringify(turns)} } },
}
`,
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
    })
  })
})
