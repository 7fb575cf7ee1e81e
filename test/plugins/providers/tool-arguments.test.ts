import { describe, expect, it } from 'vitest'
import { parseToolArguments } from '../../../plugins/providers/index.js'

describe('parseToolArguments', () => {
  it('passes valid JSON objects and objects through unchanged', () => {
    expect(parseToolArguments('{"file_path":"a.ts"}')).toEqual({
      ok: true,
      value: { file_path: 'a.ts' },
      repaired: false,
    })
    expect(parseToolArguments({ a: 1 })).toEqual({ ok: true, value: { a: 1 }, repaired: false })
  })

  it.each([
    ['fenced in markdown', '```json\n{"path": "src"}\n```', { path: 'src' }],
    ['fenced without a language', '```\n{"path": "src"}\n```', { path: 'src' }],
    ['a trailing comma', '{"a": 1, "b": [1, 2,],}', { a: 1, b: [1, 2] }],
    ['cut after a complete value', '{"a": {"b": "c"}, "d": [1, 2]', { a: { b: 'c' }, d: [1, 2] }],
    ['cut after a complete string', '{"command": "npm test"', { command: 'npm test' }],
    ['cut after a literal', '{"all": true', { all: true }],
    ['cut after a comma', '{"a": 1,', { a: 1 }],
    ['encoded twice', JSON.stringify(JSON.stringify({ a: 1 })), { a: 1 }],
    ['empty for a tool without parameters', '', {}],
    ['a brace inside a string', '{"pattern": "a{2}", "x": "}"', { pattern: 'a{2}', x: '}' }],
  ])('repairs arguments %s', (_what, raw, value) => {
    expect(parseToolArguments(raw)).toEqual({ ok: true, value, repaired: true })
  })

  it.each([
    ['cut inside a string', '{"command": "npm te'],
    ['cut after a key', '{"command"'],
    ['cut after a colon', '{"command":'],
    ['cut inside a number', '{"limit": 12'],
    ['cut inside a literal', '{"all": tr'],
    ['garbage', 'please read the file'],
    ['an array', '[1, 2]'],
    ['a number', '42'],
  ])('refuses arguments %s with a message for the model', (_what, raw) => {
    const result = parseToolArguments(raw)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error).toMatch(/tool arguments/)
  })
})
