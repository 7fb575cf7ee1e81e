import { describe, expect, it } from 'vitest'
import {
  addUsage,
  assistant,
  Conversation,
  collectStream,
  formatModelRef,
  isValidToolName,
  parseModelRef,
  type StreamEvent,
  textOf,
  toolResult,
  user,
} from '../../kernel/index.js'

describe('ModelRef', () => {
  it('splits at the first colon so model names may contain colons', () => {
    expect(parseModelRef('ollama:qwen3:8b')).toEqual({
      ok: true,
      value: { provider: 'ollama', model: 'qwen3:8b' },
    })
    expect(parseModelRef('azure:my-deployment')).toEqual({
      ok: true,
      value: { provider: 'azure', model: 'my-deployment' },
    })
    expect(formatModelRef({ provider: 'ollama', model: 'qwen3:8b' })).toBe('ollama:qwen3:8b')
  })

  it('explains malformed refs', () => {
    for (const bad of ['qwen3', ':x', 'ollama:', 'Ollama:x']) {
      const result = parseModelRef(bad)
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.error).toMatch(/model ref|provider name/)
    }
  })
})

describe('Conversation', () => {
  const call = { type: 'tool-call' as const, id: 'call_1', name: 'Read', input: { file_path: 'a.txt' } }

  it('is a value: appending returns a new conversation and leaves the old one as it was', () => {
    const empty = Conversation.of()
    const one = empty.append(user('hi'))
    expect(empty.length).toBe(0)
    expect(one.length).toBe(1)
    expect(Object.isFrozen(one.messages)).toBe(true)
  })

  it('knows which tool calls still lack a result', () => {
    const asked = Conversation.of([user('read a.txt'), assistant([call])])
    expect(asked.pendingToolCalls().map((c) => c.id)).toEqual(['call_1'])
    expect(asked.isComplete()).toBe(false)
    const answered = asked.append({ role: 'tool', content: [toolResult(call, 'contents')] })
    expect(answered.pendingToolCalls()).toEqual([])
    expect(answered.isComplete()).toBe(true)
    expect(textOf(answered.last()!)).toBe('contents')
  })

  it('serialises to its message list', () => {
    const conversation = Conversation.of([user('x'), assistant('y')])
    expect(JSON.parse(JSON.stringify(conversation))).toEqual([
      { role: 'user', content: 'x' },
      { role: 'assistant', content: [{ type: 'text', text: 'y' }] },
    ])
  })
})

describe('collectStream', () => {
  async function* events(list: StreamEvent[]) {
    yield* list
  }

  it('folds deltas into one assistant message with reasoning, text and tool calls in order', async () => {
    const model = { provider: 'scripted', model: 'm' }
    const response = await collectStream(
      model,
      events([
        { type: 'reasoning-delta', text: 'think ' },
        { type: 'reasoning-delta', text: 'more', signature: 'sig' },
        { type: 'text-delta', text: 'Hel' },
        { type: 'text-delta', text: 'lo' },
        { type: 'tool-call-start', id: 't1', name: 'Read' },
        { type: 'tool-call-delta', id: 't1', argumentsDelta: '{"file_path":' },
        { type: 'tool-call-end', id: 't1', name: 'Read', input: { file_path: 'a' } },
        { type: 'usage', usage: { inputTokens: 10, outputTokens: 5 } },
        { type: 'finish', reason: 'tool-calls' },
      ]),
    )
    expect(response).toEqual({
      model,
      message: {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'think more', signature: 'sig' },
          { type: 'text', text: 'Hello' },
          { type: 'tool-call', id: 't1', name: 'Read', input: { file_path: 'a' } },
        ],
      },
      usage: { inputTokens: 10, outputTokens: 5 },
      finishReason: 'tool-calls',
    })
  })
})

describe('collectStream reasoning blocks', () => {
  async function* events(list: StreamEvent[]) {
    yield* list
  }

  it('keeps separately signed and redacted reasoning blocks apart, as they must go back', async () => {
    const response = await collectStream(
      { provider: 'p', model: 'm' },
      events([
        { type: 'reasoning-delta', text: 'first' },
        { type: 'reasoning-delta', text: '', signature: 's1' },
        { type: 'reasoning-delta', text: '', signature: 'opaque', redacted: true },
        { type: 'reasoning-delta', text: 'second', signature: 's2' },
        { type: 'text-delta', text: 'answer' },
      ]),
    )
    expect(response.message.content).toEqual([
      { type: 'reasoning', text: 'first', signature: 's1' },
      { type: 'reasoning', text: '', signature: 'opaque', redacted: true },
      { type: 'reasoning', text: 'second', signature: 's2' },
      { type: 'text', text: 'answer' },
    ])
  })
})

describe('usage and tool names', () => {
  it('adds usage, keeping optional counters only where reported', () => {
    expect(
      addUsage({ inputTokens: 1, outputTokens: 2 }, { inputTokens: 3, outputTokens: 4, cacheReadTokens: 5 }),
    ).toEqual({
      inputTokens: 4,
      outputTokens: 6,
      cacheReadTokens: 5,
    })
  })

  it('accepts tool names every provider accepts', () => {
    expect(isValidToolName('mcp__files__read_file')).toBe(true)
    expect(isValidToolName('Read')).toBe(true)
    expect(isValidToolName('has space')).toBe(false)
    expect(isValidToolName('x'.repeat(65))).toBe(false)
  })
})
