/**
 * provider-anthropic's fast path: text deltas and block stops written exactly as the API writes
 * them are read without JSON.parse; every other form must fall back to the full parse, and both
 * roads must give the same events.
 */
import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import {
  plainBlockStop,
  plainTextDelta,
  readMessagesStream,
} from '../../../plugins/provider-anthropic/stream.js'
import { oneBytePerChunk } from '../providers/bytes.js'
import { textOf } from './helpers.js'

const delta = (text: string, index = 0) =>
  `{"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}`

describe('plainTextDelta', () => {
  it.each([
    ['plain text', 'Hello, world'],
    ['an empty text', ''],
    ['a newline escape', 'line one\nline two'],
    ['an escaped quote', 'she said "yes"'],
    ['a backslash', 'C:\\path\\to'],
    ['a tab and a control character', 'a\tb\u0001c'],
    ['non-ASCII text', 'naïve café — 東京 🎉'],
    ['text that looks like the tail', 'ends with "}}'],
  ])('reads %s as JSON.parse would', (_name, text) => {
    const data = delta(text, 3)
    const parsed = JSON.parse(data) as { delta: { text: string } }
    expect(plainTextDelta(data)).toBe(parsed.delta.text)
    expect(plainTextDelta(data)).toBe(text)
  })

  it('decodes \\u escapes', () => {
    expect(
      plainTextDelta(
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\\u00e9 \\ud83c\\udf89"}}',
      ),
    ).toBe('café 🎉')
  })

  it.each([
    [
      'spaces after the colons',
      '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}',
    ],
    [
      'another key order',
      '{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}',
    ],
    [
      'an extra field after the text',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","x":"b"}}',
    ],
    [
      'an extra field after the delta',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"x":1}',
    ],
    [
      'a thinking delta',
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}',
    ],
    [
      'an input_json delta',
      '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}',
    ],
    [
      'a non-numeric index',
      '{"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"x"}}',
    ],
    [
      'a negative index',
      '{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}',
    ],
    [
      'a raw control character in the text',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\u0001b"}}',
    ],
    ['a bad escape', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\\qb"}}'],
    ['a truncated event', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"abc'],
  ])('leaves %s to the full parse', (_name, data) => {
    expect(plainTextDelta(data)).toBeUndefined()
  })
})

describe('plainBlockStop', () => {
  it('reads the index of the exact form', () => {
    expect(plainBlockStop('{"type":"content_block_stop","index":0}')).toBe(0)
    expect(plainBlockStop('{"type":"content_block_stop","index":12}')).toBe(12)
  })

  it.each([
    '{"type": "content_block_stop", "index": 0}',
    '{"index":0,"type":"content_block_stop"}',
    '{"type":"content_block_stop","index":0,"x":1}',
    '{"type":"content_block_stop","index":}',
    '{"type":"content_block_stop","index":1.5}',
  ])('leaves %s to the full parse', (data) => {
    expect(plainBlockStop(data)).toBeUndefined()
  })
})

/** The SSE text of one answer; `compact` writes events as the API does, otherwise with spaces. */
function answer(compact: boolean): string {
  const write = (value: unknown) =>
    compact ? JSON.stringify(value) : JSON.stringify(value, null, 1).replace(/\n/g, '')
  const events: Array<[string, unknown]> = [
    [
      'message_start',
      { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 7, output_tokens: 1 } } },
    ],
    [
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ],
    [
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
    ],
    [
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo "x"\n' } },
    ],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    [
      'content_block_start',
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'read', input: {} },
      },
    ],
    [
      'content_block_delta',
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"path":' },
      },
    ],
    [
      'content_block_delta',
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"a.ts"}' } },
    ],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    [
      'message_delta',
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
    ],
    ['message_stop', { type: 'message_stop' }],
  ]
  return events.map(([name, data]) => `event: ${name}\ndata: ${write(data)}\n\n`).join('')
}

async function read(text: string): Promise<StreamEvent[]> {
  const events: StreamEvent[] = []
  let ids = 0
  for await (const event of readMessagesStream(oneBytePerChunk(text), { newToolCallId: () => `id-${++ids}` }))
    events.push(event)
  return events
}

describe('the fast path and the full parse', () => {
  it('give the same events for the same answer', async () => {
    const fast = await read(answer(true))
    const full = await read(answer(false))
    expect(answer(false)).not.toContain('"type":"content_block_delta"')
    expect(fast).toEqual(full)
    expect(textOf(fast)).toBe('Hello "x"\n')
    expect(fast.some((e) => e.type === 'tool-call-end')).toBe(true)
  })
})
