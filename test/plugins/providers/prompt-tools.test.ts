import { describe, expect, it } from 'vitest'
import type { StreamEvent, ToolDefinition } from '../../../kernel/index.js'
import { parsePromptTools, toPromptToolsRequest } from '../../../plugins/providers/index.js'

const tools: ToolDefinition[] = [
  {
    name: 'Read',
    description: 'read a file',
    inputSchema: { type: 'object', properties: { file_path: { type: 'string' } } },
  },
]

async function run(deltas: string[]): Promise<StreamEvent[]> {
  async function* source(): AsyncGenerator<StreamEvent> {
    for (const text of deltas) yield { type: 'text-delta', text }
    yield { type: 'finish', reason: 'stop' }
  }
  let n = 0
  const out: StreamEvent[] = []
  for await (const event of parsePromptTools(source(), tools, () => `call_${++n}`)) out.push(event)
  return out
}

const text = (events: StreamEvent[]) =>
  events
    .filter((e): e is Extract<StreamEvent, { type: 'text-delta' }> => e.type === 'text-delta')
    .map((e) => e.text)
    .join('')
type Call = [string, unknown, string | undefined]
const calls = (events: StreamEvent[]): Call[] =>
  events.flatMap((e): Call[] => (e.type === 'tool-call-end' ? [[e.name, e.input, e.inputError]] : []))

/** Cuts a string into pieces of `size` characters, as a model streams it. */
const pieces = (s: string, size: number) =>
  Array.from({ length: Math.ceil(s.length / size) }, (_, i) => s.slice(i * size, (i + 1) * size))

describe('parsePromptTools', () => {
  it("keeps the provider's message id on the finish it rewrites", async () => {
    async function* source(): AsyncGenerator<StreamEvent> {
      yield {
        type: 'text-delta',
        text: '<tool_call>{"name":"Read","arguments":{"file_path":"a.ts"}}</tool_call>',
      }
      yield { type: 'finish', reason: 'stop', id: 'chatcmpl-7' }
    }
    const out: StreamEvent[] = []
    for await (const event of parsePromptTools(source(), tools, () => 'call_1')) out.push(event)
    expect(out.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls', id: 'chatcmpl-7' })
  })

  const answer =
    'Let me look.\n<tool_call>\n{"name": "Read", "arguments": {"file_path": "a.ts"}}\n</tool_call>\n<tool_call>{"name":"Read","arguments":{"file_path":"b.ts"}}</tool_call>'

  for (const size of [1, 3, 11, 500]) {
    it(`finds <tool_call> blocks in text streamed ${size} characters at a time`, async () => {
      const events = await run(pieces(answer, size))
      expect(text(events)).toBe('Let me look.\n')
      expect(calls(events)).toEqual([
        ['Read', { file_path: 'a.ts' }, undefined],
        ['Read', { file_path: 'b.ts' }, undefined],
      ])
      expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool-calls' })
      const ids = events
        .filter((e) => e.type === 'tool-call-start')
        .map((e) => e.type === 'tool-call-start' && e.id)
      expect(ids).toEqual(['call_1', 'call_2'])
    })
  }

  it('takes a fenced JSON block that names an offered tool as a call, and leaves other code blocks as text', async () => {
    const events = await run([
      'Here is code:\n```ts\nconst x = {"name": 1}\n```\nNow:\n```json\n{"name": "Read", "arguments": {"file_path": "c.ts"}}\n```',
    ])
    expect(text(events)).toBe('Here is code:\n```ts\nconst x = {"name": 1}\n```\nNow:\n')
    expect(calls(events)).toEqual([['Read', { file_path: 'c.ts' }, undefined]])
  })

  it('streams plain text through without holding it back', async () => {
    const events = await run(['Hello', ' world', ', no tools here.'])
    expect(events.slice(0, 3)).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'text-delta', text: ' world' },
      { type: 'text-delta', text: ', no tools here.' },
    ])
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'stop' })
  })

  it('reports broken JSON inside <tool_call> as an input error for the model', async () => {
    const events = await run(['<tool_call>{"name": "Read", "arguments": {"file_path": </tool_call>'])
    const [call] = calls(events)
    expect(call?.[2]).toMatch(/tool arguments/)
  })

  it('takes a call the model did not close before it stopped', async () => {
    const events = await run(['<tool_call>{"name": "Read", "arguments": {"file_path": "d.ts"}}'])
    expect(calls(events)).toEqual([['Read', { file_path: 'd.ts' }, undefined]])
  })
})

describe('toPromptToolsRequest', () => {
  it('moves tools into the system prompt and writes past calls and results as text', () => {
    const request = toPromptToolsRequest({
      model: { provider: 'ollama', model: 'phi4' },
      tools,
      toolChoice: 'auto',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'read a.ts' },
        {
          role: 'assistant',
          content: [{ type: 'tool-call', id: 'c1', name: 'Read', input: { file_path: 'a.ts' } }],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'c1',
              toolName: 'Read',
              content: [{ type: 'text', text: '1: x' }],
            },
          ],
        },
      ],
    })
    expect(request.tools).toBeUndefined()
    expect(request.toolChoice).toBeUndefined()
    expect(request.messages[0]?.role).toBe('system')
    expect(request.messages[0]?.content).toContain('You are helpful.')
    expect(request.messages[0]?.content).toContain('"name":"Read"')
    expect(request.messages[2]).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: '<tool_call>\n{"name":"Read","arguments":{"file_path":"a.ts"}}\n</tool_call>' },
      ],
    })
    expect(request.messages[3]).toEqual({
      role: 'user',
      content: '<tool_response>\n{"name":"Read","error":false,"content":"1: x"}\n</tool_response>',
    })
  })
})
