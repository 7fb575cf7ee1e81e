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
    expect(types([...text, ...call])).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
    ])
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
    expect(out[2]).toMatchObject({ delta: { type: 'signature_delta', signature: 'sig' } })
    expect(out[4]).toMatchObject({ content_block: { type: 'redacted_thinking', data: 'opaque' } })
  })

  it('a new call closes the one that failed midway; sessions stream apart', () => {
    const p = new PartialMessages()
    p.map('a', 'x:m', { type: 'call-start' })
    p.map('b', 'x:m', { type: 'call-start' })
    p.map('a', 'x:m', { type: 'tool-call-start', id: 't', name: 'Read' })
    expect(types(p.map('b', 'x:m', { type: 'text-delta', text: 'b' }))).toEqual([
      'content_block_start:0',
      'content_block_delta:0',
    ])
    const again = p.map('a', 'x:fallback', { type: 'call-start' })
    expect(types(again)).toEqual(['content_block_stop:0', 'message_delta', 'message_stop', 'message_start'])
    expect(again[1]).toMatchObject({ delta: { stop_reason: null } })
    expect(again[3]).toMatchObject({ message: { model: 'x:fallback', content: [] } })
    expect(p.messageId('a')).toBe((again[3]!.message as { id: string }).id)
  })
})
