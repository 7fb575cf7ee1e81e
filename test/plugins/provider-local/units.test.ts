/** Model refs, tool-schema rewriting, the chat-history mapping and the GGUF header reader. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  JsonAnswerStream,
  jsonToolsSchema,
  normalizeToolSchema,
  parseJsonReply,
  parseLocalRef,
  progressLine,
  readGgufSummary,
  stripOptionalNulls,
  toChatHistory,
  toJsonToolHistory,
} from '../../../plugins/provider-local/index.js'
import { buildTinyGguf } from './tiny-gguf.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('local model refs', () => {
  it('reads paths and the two hf: forms', () => {
    expect(parseLocalRef('./m/x.gguf', '/work')).toEqual({ kind: 'file', path: '/work/m/x.gguf' })
    expect(parseLocalRef('local:/abs/x.gguf', '/work')).toEqual({ kind: 'file', path: '/abs/x.gguf' })
    expect(
      parseLocalRef('hf:bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf', '/'),
    ).toEqual({
      kind: 'hf',
      user: 'bartowski',
      repo: 'SmolLM2-135M-Instruct-GGUF',
      file: 'SmolLM2-135M-Instruct-Q4_K_M.gguf',
    })
    expect(parseLocalRef('hf:unsloth/Qwen3-8B-GGUF:Q4_K_M', '/')).toEqual({
      kind: 'hf-quant',
      user: 'unsloth',
      repo: 'Qwen3-8B-GGUF',
      quant: 'Q4_K_M',
    })
  })

  it('refuses what could escape the models directory or is not a GGUF', () => {
    for (const bad of [
      'hf:a/b/../../etc/passwd.gguf',
      'hf:a/b/notes.txt',
      'hf:a',
      'hf:a/b:',
      'hf:../b:Q4',
      '',
    ])
      expect(() => parseLocalRef(bad, '/'), bad).toThrow(
        expect.objectContaining({ code: 'TAU_LOCAL_REF_INVALID' }),
      )
  })
})

describe('tool schemas for the grammar', () => {
  it('rewrites anyOf, adds the object type, drops unenforced keywords, makes optional properties nullable', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: {
        path: { type: 'string', pattern: '^/' },
        limit: { type: 'integer', minimum: 1, maximum: 10 },
        mode: { anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'boolean' }] },
      },
      required: ['path'],
      additionalProperties: false,
    }
    expect(normalizeToolSchema(schema)).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string' },
        limit: { type: ['integer', 'null'] },
        mode: {
          oneOf: [{ oneOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'boolean' }] }, { type: 'null' }],
        },
      },
    })
  })

  it('drops the nulls of optional properties from a call, not of required ones', () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'integer' }, c: { type: ['string', 'null'] } },
      required: ['a', 'c'],
    }
    expect(stripOptionalNulls({ a: 'x', b: null, c: null }, schema)).toEqual({ a: 'x', c: null })
  })
})

describe('chat history', () => {
  it('attaches tool results to their calls and continues the model turn after them', () => {
    const history = toChatHistory([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'read it' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Reading.' },
          { type: 'tool-call', id: 'c1', name: 'Read', input: { file_path: 'a' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'Read',
            content: [{ type: 'text', text: 'A' }],
            isError: true,
          },
        ],
      },
    ])
    expect(history).toEqual([
      { type: 'system', text: 'sys' },
      { type: 'user', text: 'read it' },
      {
        type: 'model',
        response: [
          'Reading.',
          { type: 'functionCall', name: 'Read', params: { file_path: 'a' }, result: 'Error: A' },
        ],
      },
    ])
    expect(toChatHistory([{ role: 'user', content: 'hi' }]).at(-1)).toEqual({ type: 'model', response: [] })
  })
})

describe('GGUF header', () => {
  it('reads architecture, context length and the chat template; refuses a foreign or cut file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tau-gguf-'))
    dirs.push(dir)
    const good = join(dir, 'm.gguf')
    await writeFile(good, buildTinyGguf({ ctx: 4096 }))
    expect(await readGgufSummary(good)).toMatchObject({
      version: 3,
      architecture: 'llama',
      contextLength: 4096,
      hasChatTemplate: true,
      tensorCount: 21,
    })
    const png = join(dir, 'x.gguf')
    await writeFile(png, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))
    await expect(readGgufSummary(png)).rejects.toThrow(/GGUF magic/)
    const cut = join(dir, 'cut.gguf')
    await writeFile(cut, buildTinyGguf().subarray(0, 500))
    await expect(readGgufSummary(cut)).rejects.toThrow(/truncated/)
  })
})

describe('progress line', () => {
  it('shows bytes, percent, rate and time left', () => {
    expect(
      progressLine('m.gguf', { received: 50 * 1024 * 1024, total: 100 * 1024 * 1024, resumedFrom: 0 }, 5000),
    ).toBe('m.gguf  50 MB / 100 MB  50%  10 MB/s  5s left')
  })
})

describe("tau's JSON tool format (templates without tools)", () => {
  const tool = {
    name: 'Grep',
    description: 'Search files',
    inputSchema: {
      type: 'object',
      properties: {
        pattern: { type: 'string', pattern: '^x' },
        mode: { anyOf: [{ const: 'a' }, { const: 'b' }] },
      },
      required: ['pattern'],
    },
  }

  it('the grammar schema is a call of each declared tool (its schema normalised) or an answer', () => {
    const schema = jsonToolsSchema([tool]) as { oneOf: Array<{ properties: Record<string, unknown> }> }
    expect(schema.oneOf).toHaveLength(2)
    expect(schema.oneOf[0]?.properties.tool).toEqual({ const: 'Grep' })
    // What the grammar would get wrong is rewritten: anyOf (else null), pattern (ignored) dropped.
    expect(JSON.stringify(schema.oneOf[0]?.properties.arguments)).not.toMatch(/anyOf|"pattern":"\^x"/)
    expect(schema.oneOf[1]?.properties).toEqual({ answer: { type: 'string' } })
  })

  it('renders calls as the JSON the model writes and results as user messages, tools in the system prompt', () => {
    const history = toJsonToolHistory(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'find x' },
        {
          role: 'assistant',
          content: [{ type: 'tool-call', id: 'c1', name: 'Grep', input: { pattern: 'x' } }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'c1',
              toolName: 'Grep',
              content: [{ type: 'text', text: 'no match' }],
              isError: true,
            },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Nothing.' }] },
        { role: 'user', content: 'thanks' },
      ],
      [tool],
    )
    const system = history[0]
    expect(system?.type).toBe('system')
    if (system?.type !== 'system') throw new Error('no system item')
    expect(String(system.text)).toMatch(/^Be brief\.\n\nYou can call tools\./)
    expect(String(system.text)).toContain('- Grep: Search files')
    expect(history.slice(1)).toEqual([
      { type: 'user', text: 'find x' },
      { type: 'model', response: ['{"tool":"Grep","arguments":{"pattern":"x"}}'] },
      { type: 'user', text: '<tool_result name="Grep" error="true">\nno match\n</tool_result>' },
      { type: 'model', response: ['{"answer":"Nothing."}'] },
      { type: 'user', text: 'thanks' },
      { type: 'model', response: [] },
    ])
  })

  it('parses a reply, and a cut one is not a reply', () => {
    expect(parseJsonReply('{\n\t"tool": "Grep",\n\t"arguments": {"pattern": "x"}\n}\n\n')).toEqual({
      kind: 'call',
      name: 'Grep',
      input: { pattern: 'x' },
    })
    expect(parseJsonReply('{"answer": "hi"}')).toEqual({ kind: 'answer', text: 'hi' })
    expect(parseJsonReply('{"answer": "h')).toBeUndefined()
    expect(parseJsonReply('{"other": 1}')).toBeUndefined()
  })

  it("streams an answer's characters as they come, escapes cut between chunks included; a call streams nothing", () => {
    const answer = new JsonAnswerStream()
    const chunks = ['{\n\t"ans', 'wer": "a\\', 'nb \\u00', 'e9', '" ', '}']
    expect(chunks.map((chunk) => answer.push(chunk))).toEqual(['', 'a', '\nb ', 'é', '', ''])
    expect(answer.text).toBe('a\nb é')
    const call = new JsonAnswerStream()
    expect(call.push('{"tool": "Grep", "arguments": {"answer": "x"}}')).toBe('')
  })
})
