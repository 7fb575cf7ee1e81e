/**
 * provider-openai's fast path: a chunk that carries only a piece of text, written as OpenAI and
 * Azure OpenAI write it, is read without JSON.parse; every other chunk must fall back to the full
 * parse, and both roads must give the same events.
 */
import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import {
  plainContentChunk,
  plainQuietChunk,
  readChatAnswer,
} from '../../../plugins/provider-openai/stream.js'
import { oneBytePerChunk } from '../providers/bytes.js'
import { textOf } from './helpers.js'

const HEAD =
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1796299930,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1",'
const TAIL = ',"usage":null,"obfuscation":"ODVZZu"}'
const chunk = (text: string) =>
  `${HEAD}"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]${TAIL}`

describe('plainContentChunk', () => {
  it.each([
    ['plain text', 'Hello, world'],
    ['an empty text', ''],
    ['a newline escape', 'line one\nline two'],
    ['an escaped quote', 'she said "yes"'],
    ['a backslash before the closing quote', 'C:\\path\\'],
    ['a control character', 'a\tb\u0001c'],
    ['non-ASCII text', 'naïve café — 東京 🎉'],
    ['text that looks like the tail', '"},"logprobs":null,"finish_reason":null}]'],
  ])('reads %s as JSON.parse would', (_name, text) => {
    const data = chunk(text)
    const parsed = JSON.parse(data) as { choices: Array<{ delta: { content: string } }> }
    expect(plainContentChunk(data)).toBe(parsed.choices[0]?.delta.content)
    expect(plainContentChunk(data)).toBe(text)
  })

  it('reads the shortest form, without members around choices', () => {
    expect(
      plainContentChunk(
        '{"choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}]}',
      ),
    ).toBe('hi')
  })

  it.each([
    [
      'an error member',
      `{"error":"overloaded","choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]}`,
    ],
    [
      'an error member after choices',
      `{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}],"error":null}`,
    ],
    [
      'a second choices member',
      `{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}],"choices":[]}`,
    ],
    [
      'a usage object',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":1}}`,
    ],
    [
      'a nested member before choices',
      `{"meta":{"a":1},"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]}`,
    ],
    [
      'an escaped string before choices',
      `{"id":"a\\"b","choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]}`,
    ],
    [
      'a finish reason',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":"stop"}]${TAIL}`,
    ],
    [
      'a second choice',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null},{"index":1,"delta":{"content":"y"},"logprobs":null,"finish_reason":null}]${TAIL}`,
    ],
    [
      'a choice with another index',
      `${HEAD}"choices":[{"index":1,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]${TAIL}`,
    ],
    [
      'a reasoning delta beside the content',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"x","reasoning_content":"y"},"logprobs":null,"finish_reason":null}]${TAIL}`,
    ],
    [
      "Azure's order of members",
      '{"choices":[{"content_filter_results":{},"delta":{"content":"x"},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c","model":"m","object":"chat.completion.chunk"}',
    ],
    [
      'spaces after the colons',
      '{"id": "c", "choices": [{"index": 0, "delta": {"content": "x"}, "logprobs": null, "finish_reason": null}]}',
    ],
    [
      'white space around the object',
      ` ${HEAD}"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]${TAIL} `,
    ],
    [
      'a raw control character in the text',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"a\u0001b"},"logprobs":null,"finish_reason":null}]${TAIL}`,
    ],
    [
      'a truncated chunk',
      `${HEAD}"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}]`,
    ],
  ])('leaves a chunk with %s to the full parse', (_name, data) => {
    expect(plainContentChunk(data)).toBeUndefined()
  })
})

describe('plainQuietChunk', () => {
  const opening = `${HEAD}"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${TAIL}`
  const closing = (reason: string) =>
    `${HEAD}"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${reason}"}]${TAIL}`

  it('reads the opening chunk as nothing to do and the closing one as its finish reason', () => {
    expect(plainQuietChunk(opening)).toBeNull()
    expect(plainQuietChunk(closing('stop'))).toBe('stop')
    expect(plainQuietChunk(closing('tool_calls'))).toBe('tool_calls')
  })

  it.each([
    ['text in the opening delta', opening.replace('"content":""', '"content":"hi"')],
    ['an error member', opening.replace('{"id"', '{"error":"boom","id"')],
    ['a usage object', closing('stop').replace('"usage":null', '"usage":{"prompt_tokens":1}')],
    ['an empty finish reason', closing('')],
    ['an escaped finish reason', closing('st\\u006fp')],
    ['a delta in the closing chunk', closing('stop').replace('"delta":{}', '"delta":{"content":"x"}')],
    ['a text chunk', chunk('x')],
  ])('leaves a chunk with %s to the full parse', (_name, data) => {
    expect(plainQuietChunk(data)).toBeUndefined()
  })
})

/** The SSE text of one answer; `compact` writes chunks as OpenAI does, otherwise with spaces. */
function answer(compact: boolean): string {
  const write = (value: unknown) =>
    compact ? JSON.stringify(value) : JSON.stringify(value, null, 1).replace(/\n/g, '')
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' }
  const choice = (delta: unknown, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
  })
  const chunks = [
    choice({ role: 'assistant', content: '', refusal: null }),
    choice({ content: 'Hel' }),
    choice({ content: 'lo "x"\n' }),
    choice({
      tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'read', arguments: '' } }],
    }),
    choice({ tool_calls: [{ index: 0, function: { arguments: '{"path":"a.ts"}' } }] }),
    choice({}, 'tool_calls'),
    { ...base, choices: [], usage: { prompt_tokens: 7, completion_tokens: 9 } },
  ]
  return `${chunks.map((c) => `data: ${write(c)}\n\n`).join('')}data: [DONE]\n\n`
}

async function read(text: string): Promise<StreamEvent[]> {
  const response = {
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: oneBytePerChunk(text),
  }
  const events: StreamEvent[] = []
  const context = { provider: 'openai', nextId: () => 'call_x', secrets: [] }
  for await (const event of readChatAnswer(response, context)) events.push(event)
  return events
}

describe('the fast path and the full parse', () => {
  it('give the same events for the same answer', async () => {
    const fast = await read(answer(true))
    const full = await read(answer(false))
    expect(answer(false)).not.toContain('"delta":{"content":')
    expect(fast).toEqual(full)
    expect(textOf(fast)).toBe('Hello "x"\n')
    expect(fast.find((e) => e.type === 'tool-call-end')).toMatchObject({ input: { path: 'a.ts' } })
    expect(fast[0]).toEqual({ type: 'message-start', id: 'chatcmpl-1' })
    expect(fast.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls', id: 'chatcmpl-1' })
  })
})
