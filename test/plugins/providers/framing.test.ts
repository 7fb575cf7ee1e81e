import { describe, expect, it } from 'vitest'
import { parseNdjson, parseSse } from '../../../plugins/providers/index.js'

/** Yields `text` as bytes cut every `size` bytes (multi-byte characters split on purpose). */
async function* cut(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

describe('parseSse', () => {
  const stream =
    '\uFEFF: comment\r\n' +
    'event: message_start\r\ndata: {"a":1}\r\n\r\n' +
    'data: {"text":"héllo 👋"}\n\n' +
    'data: line one\ndata: line two\n\n' +
    'event: ping\ndata:\n\n' +
    'data: [DONE]\r\r'

  for (const size of [1, 2, 3, 7, 1000]) {
    it(`parses events whole when the bytes are cut every ${size}`, async () => {
      const events = await all(parseSse(cut(stream, size)))
      expect(events).toEqual([
        { event: 'message_start', data: '{"a":1}' },
        { event: undefined, data: '{"text":"héllo 👋"}' },
        { event: undefined, data: 'line one\nline two' },
        { event: 'ping', data: '' },
        { event: undefined, data: '[DONE]' },
      ])
    })
  }

  it('dispatches a last event that has no blank line after it', async () => {
    expect(await all(parseSse(cut('data: tail', 3)))).toEqual([{ event: undefined, data: 'tail' }])
  })
})

describe('parseNdjson', () => {
  it('parses lines cut at any byte, skipping blank lines', async () => {
    const text = '{"a":"é"}\n\n{"b":[1,2]}\r\n{"c":true}'
    for (const size of [1, 4, 100]) {
      expect(await all(parseNdjson(cut(text, size), 'ollama'))).toEqual([
        { a: 'é' },
        { b: [1, 2] },
        { c: true },
      ])
    }
  })

  it('a line that is not JSON is a bad-response error quoting it', async () => {
    await expect(all(parseNdjson(cut('{"a":1}\nnot json\n', 5), 'ollama'))).rejects.toMatchObject({
      code: 'TAU_PROVIDER_BAD_RESPONSE',
      kind: 'bad-response',
      summary: 'ollama: a streamed line is not JSON: not json',
    })
  })
})
