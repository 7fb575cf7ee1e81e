/** BodyEncoder: a request body's bytes, exactly JSON.stringify's, reusing the unchanged part of the last body. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BodyEncoder } from '../../../plugins/providers/index.js'

type Json = Record<string, unknown>

const tools = [
  {
    type: 'function',
    function: {
      name: 'Read',
      description: 'Reads a file',
      parameters: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] },
    },
  },
]

/** A conversation after n tool turns, built afresh each time as a provider's wire mapping does. */
function body(n: number, extra: Json = {}): Json {
  const messages: Json[] = [
    { role: 'system', content: 'You are tau.' },
    { role: 'user', content: 'Read the notes "quoted" \u2028 ünïcode' },
  ]
  for (let i = 0; i < n; i++) {
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'Read', arguments: '{}' } }],
    })
    messages.push({ role: 'tool', tool_call_id: `call_${i}`, content: `     1\tline ${i}` })
  }
  return { model: 'gpt-4o', messages, tools, stream: true, ...extra }
}

const exact = (encoder: BodyEncoder, value: Json) =>
  expect(encoder.encode(value).toString('utf8')).toBe(JSON.stringify(value))

afterEach(() => {
  vi.restoreAllMocks()
})

describe('BodyEncoder', () => {
  it('gives the bytes of JSON.stringify as the conversation grows, serialising only what is new', () => {
    const encoder = new BodyEncoder()
    exact(encoder, body(0))
    exact(encoder, body(1))
    const stringify = vi.spyOn(JSON, 'stringify')
    exact(encoder, body(2))
    // The check itself is one call; the encoder made two, for the assistant and tool messages added.
    const own = stringify.mock.calls.length - 1
    expect(own).toBe(2)
  })

  it('stays exact when a body is shorter or longer than the two before it (its lists are written over)', () => {
    // The encoder builds each body's part and item lists in those of the body before the last:
    // a body shorter than that one must not keep its tail, a longer one must not lose any.
    const encoder = new BodyEncoder()
    for (const n of [5, 1, 6, 0, 4, 4, 2, 7, 3, 7]) exact(encoder, body(n))
    exact(encoder, { model: 'gpt-4o', messages: [] })
    exact(encoder, body(3, { temperature: 0.5 }))
    exact(encoder, { model: 'gpt-4o' })
    exact(encoder, body(2))
  })

  it('sees values changed in place, fields reordered, added or removed', () => {
    const encoder = new BodyEncoder()
    const value = body(2)
    exact(encoder, value)
    const messages = value.messages as Json[]
    // Edited in place: an earlier message's text, a nested tool call, a tool's schema.
    ;(messages[1] as Json).content = 'another prompt'
    exact(encoder, value)
    ;((messages[2] as { tool_calls: Json[] }).tool_calls[0]!.function as Json).arguments = '{"a":1}'
    exact(encoder, value)
    const schema = (tools[0]!.function.parameters as Json).properties as Json
    schema.offset = { type: 'number' }
    try {
      exact(encoder, value)
    } finally {
      delete schema.offset
    }
    exact(encoder, value)
    // The same fields in another order, one more, one fewer, one undefined.
    exact(encoder, { stream: true, model: 'gpt-4o', messages, tools })
    exact(encoder, { ...value, temperature: 0.2 })
    exact(encoder, { model: 'gpt-4o', messages })
    exact(encoder, { model: 'gpt-4o', messages, tools: undefined, stop: ['x'] })
    // Messages removed (compaction) or replaced.
    exact(encoder, { ...value, messages: messages.slice(0, 2) })
    exact(encoder, { ...value, messages: [{ role: 'user', content: 'fresh' }, ...messages.slice(1)] })
  })

  it('reuses nothing while Object.prototype has an enumerable property (its comparison walks keys with for-in)', () => {
    const encoder = new BodyEncoder()
    const value = body(2)
    exact(encoder, value)
    const prompt = (value.messages as Json[])[1]!
    const text = prompt.content
    // The own key gone, an inherited one of the same name and value: JSON.stringify leaves it out.
    delete prompt.content
    const proto = Object.prototype as Json
    proto.content = text
    let bytes: string
    let expected: string
    try {
      bytes = encoder.encode(value).toString('utf8')
      expected = JSON.stringify(value)
    } finally {
      delete proto.content
    }
    expect(expected).not.toContain(String(text))
    expect(bytes).toBe(expected)
    exact(encoder, value)
  })

  it('writes values that are not plain data as JSON.stringify does, never from an earlier body', () => {
    const encoder = new BodyEncoder()
    let day = 1
    const dated = () => ({ toJSON: () => `day ${day}` })
    const value = () => ({
      model: 'm',
      when: new Date(86_400_000 * day),
      messages: [dated(), undefined, Number.NaN, { nested: dated(), skipped: undefined }, null, [1, 'two']],
    })
    exact(encoder, value())
    day = 2
    exact(encoder, value())
    exact(encoder, { model: 'm', messages: [] })
    exact(encoder, { messages: [1], model: undefined })
    exact(encoder, {})
  })

  it('leaves the bytes it returned alone: a later body with the same beginning is a new buffer', () => {
    const encoder = new BodyEncoder()
    const first = body(2)
    const bytes = encoder.encode(first)
    const copy = Buffer.from(bytes)
    const later = [body(3), body(3, { temperature: 0.5 }), body(1), { ...body(3), messages: [] }]
    for (const value of later) {
      const out = encoder.encode(value)
      expect(out.toString('utf8')).toBe(JSON.stringify(value))
      expect(out.buffer === bytes.buffer && out.byteOffset === bytes.byteOffset).toBe(false)
    }
    expect(bytes.equals(copy)).toBe(true)
    // A body whose parts are the last body's, and one that shares only its first parts.
    exact(encoder, first)
    exact(encoder, first)
    exact(encoder, { ...first, messages: (first.messages as Json[]).slice(0, 3) })
  })
})
