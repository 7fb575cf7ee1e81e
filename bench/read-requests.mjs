/**
 * What bench/request-body.mjs and bench/request-build.mjs share: the model requests of a
 * conversation that grows by one Read call and its 40-line result a turn, with a system prompt
 * and 14 tool definitions of the coding preset's size, and the OpenAI request options of its
 * provider. Plain data and one loop: no build is loaded here.
 */
const schema = (i) => ({
  type: 'object',
  properties: Object.fromEntries(
    Array.from({ length: 4 }, (_, j) => [
      `field_${j}`,
      { type: 'string', description: `Field ${j} of tool ${i}, described at the length tau's are.` },
    ]),
  ),
  required: ['field_0'],
  additionalProperties: false,
})
const tools = Array.from({ length: 14 }, (_, i) => ({
  name: `Tool${i}`,
  description: `Tool ${i}. ${'A description of what it does and when to use it. '.repeat(12)}`,
  inputSchema: schema(i),
}))
const system = `You are tau. ${'Instructions about the workspace, tools and style. '.repeat(120)}`
const result = Array.from(
  { length: 40 },
  (_, i) => `${String(i + 1).padStart(6)}\tline ${i + 1} of the notes`,
).join('\n')

/** The options chatBody (provider-openai/request.js) is given for an OpenAI-compatible server. */
export const OPENAI_OPTIONS = {
  flavour: 'compatible',
  maxTokensField: 'max_tokens',
  includeUsage: true,
  parallelToolCalls: undefined,
  reasoningModel: false,
  extra: undefined,
}

/**
 * Calls `send(request)` for each of `turns` turns, each request the whole conversation so far
 * (for `provider`), then appends that turn's Read call and its result, as a loop would.
 */
export function readTurnRequests(turns, provider, send) {
  const conversation = [{ role: 'user', content: 'Read the notes' }]
  for (let i = 0; i < turns; i++) {
    send({
      model: { provider, model: 'm' },
      messages: [{ role: 'system', content: system }, ...conversation],
      tools,
    })
    conversation.push({
      role: 'assistant',
      content: [
        { type: 'tool-call', id: `call_${i}`, name: 'Read', input: { file_path: '/work/notes.txt' } },
      ],
    })
    conversation.push({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: `call_${i}`,
          toolName: 'Read',
          content: [{ type: 'text', text: `${result}\n${i}` }],
        },
      ],
    })
  }
}
