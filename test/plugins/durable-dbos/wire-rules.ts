/**
 * What the providers refuse in a conversation, checked on the request bodies tau sent on the real
 * wire (OpenAI chat completions, Anthropic messages). Neither SDK validates a request before it
 * goes out and their servers cannot run here, so the rules are the ones their APIs state and
 * enforce with a 400:
 * - OpenAI: an assistant message with `tool_calls` must be followed by tool messages answering
 *   each `tool_call_id`; a tool message must answer a call of the assistant message before it.
 * - Anthropic: messages alternate user / assistant starting with a user turn (tau sends them so;
 *   the API merges consecutive user turns, tau's request should not need it); each `tool_use`
 *   is answered by a `tool_result` in the very next (user) message, tool results first, and a
 *   `tool_result` answers a `tool_use` of the message before it; text blocks are not empty.
 * `normalize()` reads either body into one shape the tests and the scripted model read.
 */

export type WireFormat = 'openai' | 'anthropic'

/** One turn of a conversation as the wire carried it. */
export type WireTurn =
  | { readonly role: 'user'; readonly text: string }
  | { readonly role: 'assistant'; readonly text: string; readonly calls: readonly WireCall[] }
  | { readonly role: 'tool'; readonly results: ReadonlyArray<{ readonly id: string; readonly text: string }> }

export interface WireCall {
  readonly id: string
  readonly name: string
  readonly input: Record<string, unknown>
}

type Json = Record<string, unknown>

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part: Json) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .join('')
}

/** The conversation of a request body (system messages left out). */
export function normalize(format: WireFormat, body: unknown): WireTurn[] {
  const messages = ((body as Json | undefined)?.messages ?? []) as Json[]
  const turns: WireTurn[] = []
  for (const m of messages) {
    if (format === 'openai') {
      if (m.role === 'system' || m.role === 'developer') continue
      if (m.role === 'user') turns.push({ role: 'user', text: textOf(m.content) })
      else if (m.role === 'assistant') {
        const calls = ((m.tool_calls ?? []) as Json[]).map((c) => {
          const fn = c.function as Json
          return {
            id: String(c.id),
            name: String(fn.name),
            input: JSON.parse(String(fn.arguments || '{}')) as Record<string, unknown>,
          }
        })
        turns.push({ role: 'assistant', text: textOf(m.content), calls })
      } else if (m.role === 'tool') {
        const result = { id: String(m.tool_call_id), text: textOf(m.content) }
        const last = turns.at(-1)
        if (last?.role === 'tool')
          turns[turns.length - 1] = { role: 'tool', results: [...last.results, result] }
        else turns.push({ role: 'tool', results: [result] })
      }
      continue
    }
    const blocks: Json[] =
      typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : ((m.content ?? []) as Json[])
    if (m.role === 'assistant') {
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({
          id: String(b.id),
          name: String(b.name),
          input: (b.input ?? {}) as Record<string, unknown>,
        }))
      turns.push({ role: 'assistant', text: textOf(blocks), calls })
    } else {
      const results = blocks
        .filter((b) => b.type === 'tool_result')
        .map((b) => ({ id: String(b.tool_use_id), text: textOf(b.content) }))
      if (results.length > 0) turns.push({ role: 'tool', results })
      const text = textOf(blocks.filter((b) => b.type === 'text'))
      if (text !== '' || results.length === 0) turns.push({ role: 'user', text })
    }
  }
  return turns
}

/** What the provider of `format` would refuse in this request body; empty when nothing. */
export function wireProblems(format: WireFormat, body: unknown): string[] {
  const problems: string[] = []
  const messages = ((body as Json | undefined)?.messages ?? []) as Json[]
  if (format === 'openai') {
    let pending: Set<string> | undefined
    messages.forEach((m, i) => {
      if (m.role === 'tool') {
        const id = String(m.tool_call_id)
        if (!pending?.has(id)) problems.push(`message ${i}: a tool message for ${id}, which no open call has`)
        pending?.delete(id)
        return
      }
      if (pending && pending.size > 0)
        problems.push(`message ${i}: calls ${[...pending].join(', ')} have no tool message before it`)
      pending = undefined
      if (m.role === 'assistant') {
        const calls = (m.tool_calls ?? []) as Json[]
        if (calls.length > 0) pending = new Set(calls.map((c) => String(c.id)))
        else if (textOf(m.content) === '')
          problems.push(`message ${i}: an assistant message with neither text nor calls`)
      }
      if (m.role === 'user' && textOf(m.content).trim() === '')
        problems.push(`message ${i}: an empty user message`)
    })
    if (pending && pending.size > 0)
      problems.push(`the request ends with calls ${[...pending].join(', ')} unanswered`)
    return problems
  }
  let previousCalls: Set<string> = new Set()
  messages.forEach((m, i) => {
    const expected = i % 2 === 0 ? 'user' : 'assistant'
    if (m.role !== expected)
      problems.push(`message ${i}: ${String(m.role)} where the ${expected} turn is due`)
    const blocks: Json[] =
      typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : ((m.content ?? []) as Json[])
    if (blocks.length === 0) problems.push(`message ${i}: no content`)
    for (const b of blocks)
      if (b.type === 'text' && String(b.text ?? '') === '') problems.push(`message ${i}: an empty text block`)
    if (m.role === 'user') {
      const results = blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id))
      for (const id of previousCalls)
        if (!results.includes(id)) problems.push(`message ${i}: tool_use ${id} has no tool_result here`)
      for (const id of results)
        if (!previousCalls.has(id))
          problems.push(`message ${i}: tool_result ${id} answers no tool_use before it`)
      const firstOther = blocks.findIndex((b) => b.type !== 'tool_result')
      const lastResult = blocks.map((b) => b.type).lastIndexOf('tool_result')
      if (firstOther >= 0 && lastResult > firstOther)
        problems.push(`message ${i}: a tool_result after other content (results come first)`)
      previousCalls = new Set()
    } else {
      if (previousCalls.size > 0)
        problems.push(`message ${i}: tool_use ${[...previousCalls].join(', ')} unanswered`)
      previousCalls = new Set(blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id)))
    }
  })
  if (messages.length > 0 && messages.at(-1)?.role !== 'user')
    problems.push('the request does not end with a user turn')
  return problems
}
