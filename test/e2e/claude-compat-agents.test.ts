/**
 * Claude Code compatibility, subagents, with the real binary against a scripted Anthropic server
 * on loopback: the Task tool's `model` maps through the one alias table (built-in, then
 * `headless.modelAliases`) and the server sees the child's request on that model; a project's
 * `.claude/agents/*.md` agent is usable once the workspace is trusted, and not before.
 */
import { describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type AnthropicFixtureOptions, useAnthropicFixtures } from './anthropic-fixture.js'

const ALIASES: AnthropicFixtureOptions['config'] = {
  headless: { modelAliases: { fast: 'anthropic:fast-model' } },
}
const anthropicFixture = useAnthropicFixtures()
const fixture = (turns: ScriptTurn[], files: Record<string, string> = {}) =>
  anthropicFixture(turns, { files, config: ALIASES })

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

const task = (id: string, input: Record<string, unknown>): ScriptTurn => ({
  toolCalls: [{ id, name: 'Task', input: { description: 'a task', prompt: 'do it', ...input } }],
})

/** The tool result of call `id` in stream-json output: its text and whether it is an error. */
function toolResult(out: readonly Line[], id: string): { text: string; isError: boolean } {
  for (const line of out) {
    if (line.type !== 'user' || line.parent_tool_use_id !== null) continue
    const content = (line.message as { content: Array<Record<string, unknown>> }).content
    const block = content.find((b) => b.type === 'tool_result' && b.tool_use_id === id)
    if (block) return { text: JSON.stringify(block.content), isError: block.is_error === true }
  }
  throw new Error(`no tool result for ${id} in ${JSON.stringify(out)}`)
}

describe('Task model, as in Claude Code', () => {
  it("runs the child on the Task call's model: a built-in alias, a configured alias; a model of no loaded provider is an error", async () => {
    const f = await fixture([
      task('t1', { model: 'haiku' }),
      { text: 'report from haiku' },
      task('t2', { model: 'fast' }),
      { text: 'report from fast' },
      task('t3', { model: 'nowhere:some-model' }),
      { text: 'all done' },
    ])
    const result = await f.run(['start', '-p', 'delegate', '--output-format', 'stream-json', '--verbose'])
    expect(result.code, result.stderr).toBe(0)
    // The parent's calls on its model; each child's on the one its Task call chose; no request for t3.
    expect(f.models()).toEqual([
      'scripted-model',
      'claude-haiku-4-5',
      'scripted-model',
      'fast-model',
      'scripted-model',
      'scripted-model',
    ])
    const out = lines(result.stdout)
    expect(toolResult(out, 't1')).toEqual({ text: JSON.stringify('report from haiku'), isError: false })
    expect(toolResult(out, 't2')).toEqual({ text: JSON.stringify('report from fast'), isError: false })
    const bad = toolResult(out, 't3')
    expect(bad.isError).toBe(true)
    expect(bad.text).toContain("names provider 'nowhere', which is not loaded")
    const final = out.at(-1)!
    expect(final).toMatchObject({ type: 'result', result: 'all done' })
    expect(Object.keys(final.modelUsage as object).sort()).toEqual([
      'anthropic:claude-haiku-4-5',
      'anthropic:fast-model',
      'anthropic:scripted-model',
    ])
  })
})

describe('.claude/agents, held by workspace trust', () => {
  it('a project agent file is not usable in an untrusted workspace (tau says so), and runs on its model once trusted', async () => {
    const f = await fixture(
      [
        // Untrusted: the parent asks for the agent, which is not there.
        task('u1', { subagent_type: 'checker' }),
        { text: 'could not' },
        // Trusted (--trust): the agent runs, on its file's model, with its body as instructions.
        task('t1', { subagent_type: 'checker' }),
        { text: 'checked' },
        { text: 'ok' },
      ],
      {
        '.claude/agents/checker.md':
          '---\nname: checker\ndescription: Checks the work twice\ntools: Glob, Read\nmodel: opus\n---\nCHECKER BODY: be thorough.\n',
      },
    )
    const args = ['start', '-p', 'check', '--output-format', 'stream-json', '--verbose']
    const untrusted = await f.run(args, { env: { TAU_TRUST: '0' } })
    expect(untrusted.code, untrusted.stderr).toBe(0)
    expect(untrusted.stderr).toContain('.claude/agents/checker.md')
    expect(untrusted.stderr).toContain('tau trust')
    let out = lines(untrusted.stdout)
    expect(out[0]!.agents).not.toContain('checker')
    const refused = toolResult(out, 'u1')
    expect(refused.isError).toBe(true)
    expect(refused.text).toContain("no agent type 'checker'")
    const firstTools = f.bodies()[0]!.tools as Array<{ name: string; description: string }>
    expect(firstTools.find((t) => t.name === 'Task')!.description).not.toContain('checker')
    expect(f.models()).toEqual(['scripted-model', 'scripted-model'])

    const trusted = await f.run([...args, '--trust'], { env: { TAU_TRUST: '0' } })
    expect(trusted.code, trusted.stderr).toBe(0)
    expect(trusted.stderr).not.toContain('.claude/agents/checker.md')
    out = lines(trusted.stdout)
    expect(out[0]!.agents).toContain('checker')
    expect(toolResult(out, 't1')).toEqual({ text: JSON.stringify('checked'), isError: false })
    expect(f.models().slice(2)).toEqual(['scripted-model', 'claude-opus-4-1', 'scripted-model'])
    const child = f.bodies()[3]!
    expect(JSON.stringify(child.system)).toContain('CHECKER BODY: be thorough.')
    expect((child.tools as Array<{ name: string }>).map((t) => t.name).sort()).toEqual(['Glob', 'Read'])
  })
})
