/**
 * Compaction: past the threshold (old tool results cleared first; the older turns summarised by
 * the model when that is not enough), on a context-length error (compact, retry once), on demand
 * with a focus and the preCompact hook's instructions; the transcript's compaction record and a
 * resume that continues with exactly the compacted conversation.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePlugin, type Message, type ModelRequest } from '../../../kernel/index.js'
import { agentHooksRef } from '../../../plugins/agent/hooks.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import session, {
  CLEARED_PREFIX,
  planClearing,
  projectKey,
  type SessionService,
  SUMMARY_PREFIX,
  SUMMARY_SYSTEM,
  sessionServiceRef,
  summaryCut,
  type TranscriptRecord,
} from '../../../plugins/session/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, harness, ofType, resultOf, tempDir } from '../agent/helpers.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})
async function project(): Promise<string> {
  const d = await tempDir('tau-compact-')
  dirs.push(d)
  return d.dir
}

/** Returns `size` characters, starting with its tag. */
const big = defineTool({
  name: 'Big',
  description: 'returns a big text',
  input: z.object({ tag: z.string(), size: z.number() }),
  async execute({ tag, size }) {
    return `${tag}:${'x'.repeat(size - tag.length - 1)}`
  },
})

const usage = (inputTokens: number, outputTokens = 10) => ({ inputTokens, outputTokens })
const call = (id: string, size: number): ScriptTurn => ({
  toolCalls: [{ id, name: 'Big', input: { tag: id, size } }],
  usage: usage(100),
})

async function kernelIn(
  cwd: string,
  turns: ScriptTurn[],
  compaction: Record<string, unknown>,
  contextWindow: number,
  plugins: ReturnType<typeof definePlugin>[] = [],
) {
  const h = await harness({
    cwd,
    turns,
    tools: [big],
    decide: allowAll,
    plugins: [session, ...plugins],
    capabilities: { contextWindow },
    tauHome: join(cwd, '.tau-home'),
    config: { session: { durability: 'off', compaction } },
  })
  return { h, sessions: h.kernel.resolve(sessionServiceRef) as SessionService }
}

async function records(cwd: string, id: string): Promise<TranscriptRecord[]> {
  return (await readFile(join(cwd, '.tau-home', 'projects', projectKey(cwd), `${id}.jsonl`), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TranscriptRecord)
}

function textOfResult(message: Message | undefined, id: string): string {
  if (message?.role !== 'tool') throw new Error(`not a tool message: ${JSON.stringify(message)}`)
  const part = message.content.find((p) => p.toolCallId === id)!
  return part.content.map((c) => (c.type === 'text' ? c.text : '')).join('')
}

/** Every tool result in the request answers a tool call made earlier in it; every call is answered. */
function expectNoOrphans(request: ModelRequest): void {
  const calls = new Set<string>()
  const answered = new Set<string>()
  for (const message of request.messages) {
    if (typeof message.content === 'string') continue
    for (const part of message.content) {
      if (part.type === 'tool-call') calls.add(part.id)
      if (part.type === 'tool-result') {
        expect(calls.has(part.toolCallId), `result ${part.toolCallId} has its call`).toBe(true)
        answered.add(part.toolCallId)
      }
    }
  }
  expect([...calls].filter((id) => !answered.has(id))).toEqual([])
}

describe('automatic compaction', () => {
  it('clears old tool results first, and stops there when that brings the session under the threshold', async () => {
    const cwd = await project()
    // Window 40,000, threshold 32,000 tokens; results of 8,000 characters (2,000 tokens).
    const { h } = await kernelIn(
      cwd,
      [
        call('r1', 8000),
        call('r2', 8000),
        call('r3', 8000),
        call('r4', 8000),
        // The provider reports a context past the threshold: the next call compacts first.
        { ...call('r5', 8000), usage: usage(33_000) },
        { text: 'Done.', usage: usage(9000) },
      ],
      {},
      40_000,
    )
    const s = h.session()
    const events = await h.run(s, 'Read everything.')
    expect(resultOf(events).stopReason).toBe('end-turn')
    const compactions = ofType(events, 'compaction')
    expect(compactions).toHaveLength(1)
    expect(compactions[0]).toMatchObject({
      trigger: 'auto',
      reason: 'threshold',
      clearedResults: 2,
      summarizedMessages: 0,
    })
    expect(compactions[0]!.tokensAfter).toBeLessThan(compactions[0]!.tokensBefore)
    // No summary call: six loop calls, nothing else.
    expect(h.scripted.requests).toHaveLength(6)
    const last = h.scripted.requests[5]!
    const tool = (n: number) =>
      last.messages.find((m) => m.role === 'tool' && m.content.some((p) => p.toolCallId === `r${n}`))
    const placeholder = textOfResult(tool(1), 'r1')
    expect(placeholder.startsWith(CLEARED_PREFIX)).toBe(true)
    expect(placeholder).toContain('Big {"tag":"r1","size":8000}')
    expect(placeholder).toContain('8,000 characters')
    expect(textOfResult(tool(2), 'r2').startsWith(CLEARED_PREFIX)).toBe(true)
    for (const n of [3, 4, 5]) expect(textOfResult(tool(n), `r${n}`)).toHaveLength(8000)
    expect(last.messages[0]).toEqual(h.scripted.requests[0]!.messages[0])
    expectNoOrphans(last)
    // The session's conversation is the compacted one.
    expect(textOfResult(s.conversation.messages[2], 'r1').startsWith(CLEARED_PREFIX)).toBe(true)
  })

  it('summarises the older turns when clearing is not enough: system prompt intact, summary, recent turns verbatim, no orphans; recorded and resumed exactly', async () => {
    const cwd = await project()
    const marks: string[] = []
    const guard = definePlugin({
      name: 'guard',
      dependsOn: ['agent'],
      setup(ctx) {
        ctx.hooksOf(agentHooksRef).preCompact.tap((context) => {
          marks.push(context.trigger)
          return { ...context, instructions: [...context.instructions, 'Keep the name of the failing test.'] }
        })
      },
    })
    // Window 10,000, threshold 8,000; two kept results of 16,000 characters are 8,000 tokens alone.
    const { h, sessions } = await kernelIn(
      cwd,
      [
        call('b1', 16_000),
        call('b2', 16_000),
        call('b3', 16_000),
        { text: 'Found it.', usage: usage(9000) },
        { text: 'Goal: fix the bug in a.ts. Files: a.ts. Open: apply the fix.', usage: usage(50, 20) },
        { text: 'Fixed.', usage: usage(4000) },
      ],
      { keepToolResults: 2, keepTurns: 2 },
      10_000,
      [guard],
    )
    const s = h.session()
    await h.run(s, 'Fix the bug in a.ts.')
    const before = s.conversation.messages
    expect(before).toHaveLength(8)
    const events = await h.run(s, 'Now fix it.')
    expect(resultOf(events).text).toBe('Fixed.')
    expect(ofType(events, 'compaction')[0]).toMatchObject({
      trigger: 'auto',
      reason: 'threshold',
      clearedResults: 1,
      summarizedMessages: 5,
    })
    expect(marks).toEqual(['auto'])

    // The summary call: its own system prompt, the older turns, the hook's instructions.
    const summaryCall = h.scripted.requests[4]!
    expect(summaryCall.messages[0]).toEqual({ role: 'system', content: SUMMARY_SYSTEM })
    expect(summaryCall.tools).toBeUndefined()
    const asked = summaryCall.messages[1]!.content as string
    expect(asked).toContain('Fix the bug in a.ts.')
    expect(asked).toContain('Keep the name of the failing test.')
    expect(asked).not.toContain('Now fix it.')

    // The request after compaction.
    const after = h.scripted.requests[5]!
    expect(after.messages[0]).toEqual(h.scripted.requests[0]!.messages[0])
    const summary = after.messages[1]!
    expect(summary.role).toBe('user')
    expect(summary.content as string).toMatch(new RegExp(`^${SUMMARY_PREFIX.replace(/[[\]]/g, '\\$&')}`))
    expect(summary.content as string).toContain('Goal: fix the bug in a.ts.')
    // The last two model turns verbatim (b3's call and result, the answer), then the new prompt.
    expect(after.messages.slice(2)).toEqual([...before.slice(5), { role: 'user', content: 'Now fix it.' }])
    expect(textOfResult(after.messages[3], 'b3')).toHaveLength(16_000)
    expectNoOrphans(after)

    // The transcript records what was replaced.
    const all = await records(cwd, s.id)
    const compaction = all.find((r) => r.type === 'compaction')
    expect(compaction).toMatchObject({
      type: 'compaction',
      trigger: 'auto',
      reason: 'threshold',
      cleared: [{ index: 2, toolCallId: 'b1' }],
      summary: { from: 0, to: 5, message: summary },
    })
    // The prompt came before it (index 8); messages after it are numbered from the compacted length.
    const firstAfter = all.slice(all.indexOf(compaction!)).find((r) => r.type === 'message')
    expect(firstAfter).toMatchObject({ index: 5, message: { role: 'assistant' } })

    // Resume continues with exactly the compacted conversation.
    const live = s.conversation.messages
    await s.close()
    const plan = await sessions.resume(s.id)
    expect(plan.options.conversation.messages).toEqual(live)
    h.scripted.push({ text: 'Again.', usage: usage(100) })
    const resumed = h.session({ ...plan.options })
    await h.run(resumed, 'Once more.')
    expect(h.scripted.requests[6]!.messages).toEqual([
      after.messages[0],
      ...live,
      { role: 'user', content: 'Once more.' },
    ])
  })

  it('compacts on a context-length error and retries the call once; a second refusal ends the run', async () => {
    const cwd = await project()
    const tooLong = { status: 400, errorMessage: 'prompt is too long: 210000 tokens > 200000 maximum' }
    const { h } = await kernelIn(
      cwd,
      [
        call('c1', 2000),
        { text: 'Read it.', usage: usage(500) },
        tooLong,
        { text: 'Summary: read c1.', usage: usage(50) },
        { text: 'Answer.', usage: usage(300) },
      ],
      {},
      1_000_000,
    )
    const s = h.session()
    await h.run(s, 'Read c1.')
    const events = await h.run(s, 'Go on.')
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', text: 'Answer.' })
    expect(ofType(events, 'compaction')).toMatchObject([{ reason: 'context-length', summarizedMessages: 3 }])
    expect(ofType(events, 'error')).toEqual([])
    expect(h.scripted.requests).toHaveLength(5)
    const retried = h.scripted.requests[4]!
    expect(retried.messages.slice(1).map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(retried.messages[1]!.content as string).toContain('Summary: read c1.')
    expectNoOrphans(retried)

    // Refused again after compacting: one retry only, then the error.
    h.scripted.push(
      { text: 'Ok.', usage: usage(10) },
      tooLong,
      { text: 'Summary 2.', usage: usage(5) },
      tooLong,
    )
    await h.run(s, 'Third.')
    const failed = await h.run(s, 'Fourth.')
    expect(resultOf(failed)).toMatchObject({
      stopReason: 'error',
      isError: true,
      error: { code: 'TAU_PROVIDER_CONTEXT_LENGTH' },
    })
    expect(ofType(failed, 'compaction')).toHaveLength(1)
    expect(h.scripted.remaining()).toBe(0)
    expect(h.scripted.requests).toHaveLength(9)
  })

  it('leaves the session alone under the threshold, and when auto is off', async () => {
    const cwd = await project()
    const { h } = await kernelIn(
      cwd,
      [
        call('d1', 8000),
        call('d2', 8000),
        call('d3', 8000),
        call('d4', 8000),
        { text: 'x', usage: usage(99_000) },
        { text: 'y' },
      ],
      { auto: false },
      100_000,
    )
    const s = h.session()
    await h.run(s, 'one')
    const events = await h.run(s, 'two')
    expect(ofType(events, 'compaction')).toEqual([])
    expect(h.scripted.requests).toHaveLength(6)
    expect(textOfResult(s.conversation.messages[2], 'd1')).toHaveLength(8000)
  })
})

describe('compact() on demand', () => {
  it('passes the focus and the preCompact instructions to the summary, and records a manual compaction', async () => {
    const cwd = await project()
    const seen: string[] = []
    const tap = definePlugin({
      name: 'tap',
      dependsOn: ['agent'],
      setup(ctx) {
        ctx.hooksOf(agentHooksRef).preCompact.tap((context) => {
          seen.push(...context.instructions)
          return { ...context, instructions: [...context.instructions, 'Mention the migration plan.'] }
        })
      },
    })
    const { h, sessions } = await kernelIn(
      cwd,
      [
        { text: 'One.', usage: usage(10) },
        { text: 'Two.', usage: usage(10) },
        { text: 'Summary of one.', usage: usage(5) },
      ],
      {},
      100_000,
      [tap],
    )
    const s = h.session()
    await h.run(s, 'first')
    await h.run(s, 'second')
    const result = await sessions.compact(s.id, 'the parser')
    expect(result).toMatchObject({ clearedResults: 0, summarizedMessages: 2 })
    expect(seen).toEqual(['Focus on: the parser'])
    const asked = h.scripted.requests[2]!.messages[1]!.content as string
    expect(asked).toContain('- Focus on: the parser')
    expect(asked).toContain('- Mention the migration plan.')
    expect(s.conversation.messages.map((m) => m.role)).toEqual(['user', 'user', 'assistant'])
    const record = (await records(cwd, s.id)).find((r) => r.type === 'compaction')
    expect(record).toMatchObject({ trigger: 'manual', reason: 'manual', summary: { from: 0, to: 2 } })
  })

  it('fails cleanly: an empty summary leaves the conversation as it was; unknown sessions are refused', async () => {
    const cwd = await project()
    const { h, sessions } = await kernelIn(
      cwd,
      [{ text: 'One.' }, { text: 'Two.' }, { text: '' }],
      {},
      100_000,
    )
    const s = h.session()
    await h.run(s, 'first')
    await h.run(s, 'second')
    const before = s.conversation
    await expect(sessions.compact(s.id)).rejects.toMatchObject({ code: 'TAU_SESSION_COMPACTION_FAILED' })
    expect(s.conversation).toBe(before)
    expect((await records(cwd, s.id)).some((r) => r.type === 'compaction')).toBe(false)
    await expect(sessions.compact('nope')).rejects.toMatchObject({ code: 'TAU_SESSION_NOT_FOUND' })
  })
})

describe('the cut and the clearing', () => {
  const m = {
    user: (text: string): Message => ({ role: 'user', content: text }),
    ask: (id: string): Message => ({
      role: 'assistant',
      content: [{ type: 'tool-call', id, name: 'Read', input: { file_path: `${id}.ts` } }],
    }),
    result: (id: string, size: number): Message => ({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: id,
          toolName: 'Read',
          content: [{ type: 'text', text: 'y'.repeat(size) }],
        },
      ],
    }),
    say: (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] }),
  }

  it('cuts only where a prompt or a model turn after complete results starts', () => {
    const messages = [
      m.user('p'),
      m.ask('a'),
      m.result('a', 10),
      m.ask('b'),
      m.result('b', 10),
      m.say('done'),
    ]
    expect(summaryCut(messages, 1)).toBe(5)
    expect(summaryCut(messages, 2)).toBe(3)
    // Three turns would leave nothing to summarise but the prompt's own start: fewer are kept.
    expect(summaryCut(messages, 3)).toBe(3)
    expect(summaryCut(messages, 9)).toBe(3)
    expect(summaryCut([m.user('p'), m.say('x')], 1)).toBe(0)
    for (let keep = 1; keep < 5; keep++) expect(messages[summaryCut(messages, keep)]!.role).not.toBe('tool')
  })

  it('clears only older results bigger than their placeholder, never twice', () => {
    const messages = [
      m.user('p'),
      m.ask('a'),
      m.result('a', 5000),
      m.ask('s'),
      m.result('s', 3),
      m.ask('b'),
      m.result('b', 5000),
    ]
    const cleared = planClearing(messages, 1)
    expect(cleared.map((c) => c.toolCallId)).toEqual(['a'])
    expect(cleared[0]!.text).toContain('Read {"file_path":"a.ts"} returned 5,000 characters')
    const again = messages.slice()
    again[2] = {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'a',
          toolName: 'Read',
          content: [{ type: 'text', text: cleared[0]!.text }],
        },
      ],
    }
    expect(planClearing(again, 1)).toEqual([])
    expect(planClearing(messages, 3)).toEqual([])
  })
})
