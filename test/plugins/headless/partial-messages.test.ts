/**
 * The mapping of tau's normalized stream to Anthropic's stream events, for what the binary tests
 * (test/e2e/claude-compat-stream.test.ts) cannot make a scripted server send: a tool call sent
 * whole (Ollama), redacted and signed thinking, a call that failed midway.
 */
import { describe, expect, it } from 'vitest'
import { PartialMessages } from '../../../plugins/headless/partial-messages.js'

const types = (events: ReadonlyArray<{ type: string; index?: unknown }>) =>
  events.map((e) => (e.index === undefined ? e.type : `${e.type}:${String(e.index)}`))

describe('PartialMessages', () => {
  it('gives a tool call sent whole its block, its input as one delta, and a stop', () => {
    const p = new PartialMessages()
    p.map('s', 'ollama:m', { type: 'call-start' })
    const text = p.map('s', 'ollama:m', { type: 'text-delta', text: 'hi' })
    const call = p.map('s', 'ollama:m', {
      type: 'tool-call-end',
      id: 'c1',
      name: 'Glob',
      input: { pattern: '*' },
    })
    // No message-start from Ollama: tau's id and zero usage, at its first event.
    expect(types([...text, ...call])).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
    ])
    expect(text[0]).toMatchObject({
      message: { id: expect.stringMatching(/^msg_/), model: 'ollama:m', usage: { input_tokens: 0 } },
    })
    expect(call[2]).toMatchObject({ delta: { type: 'input_json_delta', partial_json: '{"pattern":"*"}' } })
    expect(types(p.finish('s', 'tool_use', { output_tokens: 3 }))).toEqual(['message_delta', 'message_stop'])
  })

  it('a signature ends its thinking block; redacted thinking is a block of its own; empty text opens nothing', () => {
    const p = new PartialMessages()
    p.map('s', 'anthropic:m', { type: 'call-start' })
    const out = [
      ...p.map('s', 'anthropic:m', { type: 'text-delta', text: '' }),
      ...p.map('s', 'anthropic:m', { type: 'reasoning-delta', text: 'think' }),
      ...p.map('s', 'anthropic:m', { type: 'reasoning-delta', text: '', signature: 'sig' }),
      ...p.map('s', 'anthropic:m', {
        type: 'reasoning-delta',
        text: '',
        signature: 'opaque',
        redacted: true,
      }),
      ...p.map('s', 'anthropic:m', { type: 'text-delta', text: 'answer' }),
      ...p.finish('s', 'end_turn', { output_tokens: 1 }),
    ]
    expect(types(out)).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ])
    expect(out[3]).toMatchObject({ delta: { type: 'signature_delta', signature: 'sig' } })
    expect(out[5]).toMatchObject({ content_block: { type: 'redacted_thinking', data: 'opaque' } })
  })

  it('a new call closes the one that failed midway; sessions stream apart', () => {
    const p = new PartialMessages()
    p.map('a', 'x:m', { type: 'call-start' })
    p.map('b', 'x:m', { type: 'call-start' })
    p.map('a', 'x:m', { type: 'tool-call-start', id: 't', name: 'Read' })
    expect(types(p.map('b', 'x:m', { type: 'text-delta', text: 'b' }))).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
    ])
    const again = p.map('a', 'x:fallback', { type: 'call-start' })
    expect(types(again)).toEqual(['content_block_stop:0', 'message_delta', 'message_stop'])
    expect(again[1]).toMatchObject({ delta: { stop_reason: null } })
    // The fallback's message starts at its first event.
    const first = p.map('a', 'x:fallback', { type: 'text-delta', text: 'ok' })
    expect(types(first)).toEqual(['message_start', 'content_block_start:0', 'content_block_delta:0'])
    expect(first[0]).toMatchObject({ message: { model: 'x:fallback', content: [] } })
    expect(p.messageId('a')).toBe((first[0]!.message as { id: string }).id)
  })

  it("message_start has the provider's id and input usage from its message-start", () => {
    const p = new PartialMessages()
    p.map('s', 'anthropic:m', { type: 'call-start' })
    const start = p.map('s', 'anthropic:m', {
      type: 'message-start',
      id: 'msg_01abc',
      usage: { inputTokens: 30, outputTokens: 1, cacheReadTokens: 8, cacheWriteTokens: 2 },
    })
    expect(start).toEqual([
      {
        type: 'message_start',
        message: {
          id: 'msg_01abc',
          type: 'message',
          role: 'assistant',
          model: 'anthropic:m',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // Anthropic's spelling: input_tokens without the cached parts.
          usage: {
            input_tokens: 20,
            cache_creation_input_tokens: 2,
            cache_read_input_tokens: 8,
            output_tokens: 1,
          },
        },
      },
    ])
    expect(p.messageId('s')).toBe('msg_01abc')
    expect(types(p.map('s', 'anthropic:m', { type: 'text-delta', text: 'hi' }))).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
    ])
  })

  it('a call that failed before any event printed nothing; an answer with no event opens at its end', () => {
    const p = new PartialMessages()
    p.map('s', 'x:m', { type: 'call-start' })
    expect(p.map('s', 'x:m', { type: 'call-start' })).toEqual([])
    expect(types(p.finish('s', 'end_turn', { output_tokens: 0 }))).toEqual([
      'message_start',
      'message_delta',
      'message_stop',
    ])
  })
})
