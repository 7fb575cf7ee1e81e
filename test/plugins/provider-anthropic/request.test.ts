/** How a ModelRequest becomes a Messages API body (toMessagesRequest), and what goes on the wire. */
import { afterEach, describe, expect, it } from 'vitest'
import type { Message, ModelRequest } from '../../../kernel/index.js'
import { type MessagesBody, toMessagesRequest } from '../../../plugins/provider-anthropic/index.js'
import { normalizeBaseURL } from '../../../plugins/provider-anthropic/provider.js'
import { collect, MODEL, messageRequests, request, type Setup, setup } from './helpers.js'

const options = {
  defaultMaxTokens: 8192,
  thinkingType: 'enabled' as 'enabled' | 'adaptive',
  thinkingBudget: 4096,
  promptCaching: false,
}
const build = (overrides: Partial<ModelRequest>, extra: Partial<typeof options> = {}) =>
  toMessagesRequest(request(overrides), { ...options, ...extra })
const ephemeral = { type: 'ephemeral' }

const tool = (name: string) => ({
  name,
  description: `${name} things`,
  inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
})

describe('toMessagesRequest', () => {
  it('puts system messages in the top-level system field, never in messages', () => {
    const body = build({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'system', content: 'Also polite.' },
      ],
    })
    expect(body.system).toEqual([
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'Also polite.' },
    ])
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }])
  })

  it('merges consecutive same-role messages so roles alternate, tool results first in a user turn', () => {
    const messages: Message[] = [
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'toolu_a', name: 'Read', input: { path: 'a' } }],
      },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'toolu_b', name: 'Read', input: { path: 'b' } }],
      },
      { role: 'user', content: 'typed while the tools ran' },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'toolu_a',
            toolName: 'Read',
            content: [{ type: 'text', text: 'A' }],
          },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'toolu_b',
            toolName: 'Read',
            content: [{ type: 'text', text: 'no such file' }],
            isError: true,
          },
        ],
      },
    ]
    const body = build({ messages })
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(body.messages[0]!.content).toEqual([
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ])
    expect(body.messages[1]!.content).toEqual([
      { type: 'tool_use', id: 'toolu_a', name: 'Read', input: { path: 'a' } },
      { type: 'tool_use', id: 'toolu_b', name: 'Read', input: { path: 'b' } },
    ])
    expect(body.messages[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_a', content: [{ type: 'text', text: 'A' }] },
      {
        type: 'tool_result',
        tool_use_id: 'toolu_b',
        content: [{ type: 'text', text: 'no such file' }],
        is_error: true,
      },
      { type: 'text', text: 'typed while the tools ran' },
    ])
  })

  it('sends images as base64 (or url) image blocks, in user turns and tool results', () => {
    const body = build({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look' },
            { type: 'image', mediaType: 'image/png', data: 'AAAA' },
            { type: 'image', mediaType: 'image/jpeg', data: 'data:image/jpeg;base64,BBBB' },
            { type: 'image', mediaType: 'image/png', url: 'https://example.com/c.png' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool-call', id: 'toolu_s', name: 'Screenshot', input: {} }] },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'toolu_s',
              toolName: 'Screenshot',
              content: [{ type: 'image', mediaType: 'image/webp', data: 'CCCC' }],
            },
          ],
        },
      ],
    })
    expect(body.messages[0]!.content).toEqual([
      { type: 'text', text: 'Look' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'BBBB' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/c.png' } },
    ])
    expect(body.messages[2]!.content[0]).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_s',
      content: [{ type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'CCCC' } }],
    })
  })

  it('sends reasoning back as thinking with its signature; leaves out unsigned reasoning and empty text', () => {
    const notes: string[] = []
    const body = toMessagesRequest(
      request({
        messages: [
          { role: 'user', content: 'Q' },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'from another provider' },
              { type: 'reasoning', text: 'mine', signature: 'c2lnbmF0dXJl' },
              { type: 'text', text: '' },
              { type: 'tool-call', id: 'toolu_x', name: 'Read', input: '{"path": "a', inputError: 'cut off' },
            ],
          },
        ],
      }),
      { ...options, note: (m) => notes.push(m) },
    )
    expect(body.messages[1]!.content).toEqual([
      { type: 'thinking', thinking: 'mine', signature: 'c2lnbmF0dXJl' },
      // Unparseable arguments: the API needs an object.
      { type: 'tool_use', id: 'toolu_x', name: 'Read', input: {} },
    ])
    expect(notes.join()).toContain('without a signature')
  })

  it('maps tools to input_schema and each tool choice', () => {
    const tools = [tool('Read'), { name: 'Now', description: 'the time', inputSchema: {} }]
    const body = build({ tools })
    expect(body.tools).toEqual([
      {
        name: 'Read',
        description: 'Read things',
        input_schema: { type: 'object', properties: { path: { type: 'string' } } },
      },
      { name: 'Now', description: 'the time', input_schema: { type: 'object' } },
    ])
    expect(body.tool_choice).toBeUndefined()
    expect(build({ tools, toolChoice: 'auto' }).tool_choice).toEqual({ type: 'auto' })
    expect(build({ tools, toolChoice: 'required' }).tool_choice).toEqual({ type: 'any' })
    expect(build({ tools, toolChoice: 'none' }).tool_choice).toEqual({ type: 'none' })
    expect(build({ tools, toolChoice: { name: 'Read' } }).tool_choice).toEqual({ type: 'tool', name: 'Read' })
    // No tools, no tool_choice.
    expect(build({ toolChoice: 'required' }).tool_choice).toBeUndefined()
  })

  it('max_tokens is always sent: the request, else the default', () => {
    expect(build({}).max_tokens).toBe(8192)
    expect(build({ maxOutputTokens: 300 }).max_tokens).toBe(300)
  })

  it('thinking from reasoning: budget, effort or default; no temperature with it; max_tokens above the budget', () => {
    expect(build({ reasoning: true }).thinking).toEqual({ type: 'enabled', budget_tokens: 4096 })
    expect(build({ reasoning: { budgetTokens: 5000 } }).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 5000,
    })
    expect(build({ reasoning: { effort: 'high' } }).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 24_576,
    })
    expect(build({ reasoning: { budgetTokens: 100 } }).thinking).toEqual({
      type: 'enabled',
      budget_tokens: 1024,
    })
    expect(build({ reasoning: false }).thinking).toBeUndefined()

    const withTemperature = build({ reasoning: true, temperature: 0.2, topP: 0.5 })
    expect(withTemperature.temperature).toBeUndefined()
    expect(withTemperature.top_p).toBeUndefined()
    expect(build({ temperature: 0.2, topP: 0.5 })).toMatchObject({ temperature: 0.2, top_p: 0.5 })

    const small = build({ reasoning: { budgetTokens: 4000 }, maxOutputTokens: 1000 })
    expect(small.max_tokens).toBe(5000)
    expect(small.thinking).toEqual({ type: 'enabled', budget_tokens: 4000 })
  })

  it('thinking is left out when tool_choice forces a tool (the API refuses the pair)', () => {
    const body = build({ tools: [tool('Read')], toolChoice: 'required', reasoning: true })
    expect(body.thinking).toBeUndefined()
    expect(body.tool_choice).toEqual({ type: 'any' })
  })

  it('adaptive thinking: {type: adaptive}, the effort in output_config, no budget', () => {
    const body = build({ reasoning: { effort: 'low' }, maxOutputTokens: 1000 }, { thinkingType: 'adaptive' })
    expect(body.thinking).toEqual({ type: 'adaptive' })
    expect(body.output_config).toEqual({ effort: 'low' })
    expect(body.max_tokens).toBe(1000)
  })

  it('stop sequences, a JSON schema, and provider options', () => {
    const body = build({
      stop: ['###'],
      responseFormat: { type: 'json', schema: { type: 'object', properties: { a: { type: 'number' } } } },
      providerOptions: { anthropic: { metadata: { user_id: 'u1' }, top_k: 5 }, openai: { ignored: true } },
    })
    expect(body.stop_sequences).toEqual(['###'])
    expect(body.output_config).toEqual({
      format: { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'number' } } } },
    })
    expect(body).toMatchObject({ metadata: { user_id: 'u1' }, top_k: 5 })
    expect(body).not.toHaveProperty('ignored')
  })

  describe('prompt caching breakpoints', () => {
    const conversation: Message[] = [
      { role: 'system', content: 'System A' },
      { role: 'system', content: 'System B' },
      { role: 'user', content: 'first question' },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'hmm', signature: 'c2ln' },
          { type: 'tool-call', id: 'toolu_1', name: 'Read', input: { path: 'x' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'toolu_1',
            toolName: 'Read',
            content: [{ type: 'text', text: 'X' }],
          },
        ],
      },
    ]
    const cached = (body: MessagesBody) => JSON.stringify(body).split('"cache_control"').length - 1

    it('marks the last tool, the last system block, the end of the history and the new turn: four at most', () => {
      const body = build(
        { messages: conversation, tools: [tool('Read'), tool('Write')] },
        { promptCaching: true },
      )
      expect(body.tools![0]).not.toHaveProperty('cache_control')
      expect(body.tools![1]!.cache_control).toEqual(ephemeral)
      expect(body.system![0]).not.toHaveProperty('cache_control')
      expect(body.system![1]!.cache_control).toEqual(ephemeral)
      // The history ends with the assistant turn; thinking blocks cannot carry a breakpoint.
      expect(body.messages[1]!.content).toEqual([
        { type: 'thinking', thinking: 'hmm', signature: 'c2ln' },
        { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: 'x' }, cache_control: ephemeral },
      ])
      expect(body.messages[2]!.content.at(-1)).toMatchObject({
        type: 'tool_result',
        cache_control: ephemeral,
      })
      expect(body.messages[0]!.content[0]).not.toHaveProperty('cache_control')
      expect(cached(body)).toBe(4)
    })

    it('a first turn has no history: the new turn, system and tools only; none when turned off', () => {
      const body = build({ messages: [{ role: 'user', content: 'hello' }] }, { promptCaching: true })
      expect(body.messages[0]!.content).toEqual([{ type: 'text', text: 'hello', cache_control: ephemeral }])
      expect(cached(body)).toBe(1)
      expect(cached(build({ messages: conversation, tools: [tool('Read')] }))).toBe(0)
    })
  })
})

describe('what goes on the wire', () => {
  let t: Setup | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  it('max_tokens defaults to the catalogue maximum, else to the configured one', async () => {
    t = await setup([{ text: 'a' }, { text: 'b' }, { text: 'c' }])
    await collect(t.registry.stream(request()))
    await collect(
      t.registry.stream(request({ model: { provider: 'anthropic', model: 'claude-3-5-haiku-latest' } })),
    )
    await collect(
      t.registry.stream(request({ model: { provider: 'anthropic', model: 'some-gateway-model' } })),
    )
    expect(messageRequests(t.server).map((r) => (r.body as MessagesBody).max_tokens)).toEqual([
      64_000, 8192, 8192,
    ])
    await t.close()
    t = await setup([{ text: 'a' }], { anthropic: { maxTokens: 2000, promptCaching: false } })
    await collect(t.registry.stream(request()))
    expect(messageRequests(t.server)[0]!.body).toEqual({
      model: MODEL,
      max_tokens: 2000,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    })
  })

  it('extra headers from config, and the configured anthropic-version', async () => {
    t = await setup([{ text: 'a' }], {
      anthropic: { headers: { 'anthropic-beta': 'context-1m-2025-08-07' }, apiVersion: '2023-01-01' },
    })
    await collect(t.registry.stream(request()))
    const sent = messageRequests(t.server)[0]!
    expect(sent.headers['anthropic-beta']).toBe('context-1m-2025-08-07')
    expect(sent.headers['anthropic-version']).toBe('2023-01-01')
  })

  it('base URLs: trailing slashes and a trailing /v1 are the same base', () => {
    expect(normalizeBaseURL('https://api.anthropic.com/')).toBe('https://api.anthropic.com')
    expect(normalizeBaseURL('https://api.anthropic.com/v1')).toBe('https://api.anthropic.com')
    expect(normalizeBaseURL('https://r.services.ai.azure.com/anthropic/')).toBe(
      'https://r.services.ai.azure.com/anthropic',
    )
  })
})
