/**
 * Tools for models whose chat template has none: tau describes the tools in the system prompt and
 * a JSON-schema grammar makes every answer one JSON object, either a call
 * (`{"tool": NAME, "arguments": {...}}`) or an answer (`{"answer": TEXT}`). node-llama-cpp's own
 * fallback (its `||call:` syntax) waits for the model to write a syntax it was never trained on;
 * a grammar needs no such luck. The conversation is rendered in the same shape, so the model sees
 * its earlier calls as the JSON it wrote, and results come back as user messages.
 */
import type { ChatHistoryItem } from 'node-llama-cpp'
import { type JsonSchema, type Message, type ToolDefinition, textOf } from '../../kernel/index.js'
import { normalizeToolSchema } from './tool-schema.js'

/** How tool calls are written: by the model's chat wrapper, or by tau's JSON grammar. */
export type ToolFormat = 'template' | 'json'

/** The system prompt's part that describes the tools and the one-object answer. */
export function describeJsonTools(tools: readonly ToolDefinition[]): string {
  const lines = [
    'You can call tools. Reply with exactly one JSON object and nothing else:',
    '- to call a tool: {"tool": "<tool name>", "arguments": {<the arguments, as the tool\'s schema says>}}',
    '  (its result comes back in the next message);',
    '- to answer the user: {"answer": "<your answer>"}.',
    '',
    'Tools:',
  ]
  for (const tool of tools)
    lines.push(`- ${tool.name}: ${tool.description}`, `  arguments: ${JSON.stringify(tool.inputSchema)}`)
  return lines.join('\n')
}

/** The grammar's schema: one call of a declared tool with arguments it accepts, or an answer. */
export function jsonToolsSchema(tools: readonly ToolDefinition[]): JsonSchema {
  return {
    oneOf: [
      ...tools.map((tool) => ({
        type: 'object',
        properties: { tool: { const: tool.name }, arguments: normalizeToolSchema(tool.inputSchema) },
        required: ['tool', 'arguments'],
      })),
      { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] },
    ],
  }
}

function toolResultText(message: Extract<Message, { role: 'tool' }>): string[] {
  return message.content.map((result) => {
    const text = result.content
      .map((part) =>
        part.type === 'text' ? part.text : `[${part.type} omitted: this model reads text only]`,
      )
      .join('')
    const error = result.isError ? ' error="true"' : ''
    return `<tool_result name="${result.toolName}"${error}>\n${text}\n</tool_result>`
  })
}

/** The conversation as chat history in the JSON shape, tools described in the system prompt. */
export function toJsonToolHistory(
  messages: readonly Message[],
  tools: readonly ToolDefinition[],
): ChatHistoryItem[] {
  const system: string[] = []
  const rest: ChatHistoryItem[] = []
  for (const message of messages) {
    if (message.role === 'system') system.push(message.content)
    else if (message.role === 'user') rest.push({ type: 'user', text: textOf(message) })
    else if (message.role === 'assistant') {
      const objects: string[] = []
      const text = message.content
        .flatMap((part) => (part.type === 'text' && part.text !== '' ? [part.text] : []))
        .join('')
      for (const part of message.content)
        if (part.type === 'tool-call')
          objects.push(JSON.stringify({ tool: part.name, arguments: part.input }))
      // A call's own text is not kept: the grammar lets a reply be a call or an answer, not both.
      if (objects.length === 0) objects.push(JSON.stringify({ answer: text }))
      rest.push({ type: 'model', response: [objects.join('\n')] })
    } else rest.push({ type: 'user', text: toolResultText(message).join('\n') })
  }
  system.push(describeJsonTools(tools))
  return [{ type: 'system', text: system.join('\n\n') }, ...rest, { type: 'model', response: [] }]
}

export type JsonReply =
  | { readonly kind: 'call'; readonly name: string; readonly input: Record<string, unknown> }
  | { readonly kind: 'answer'; readonly text: string }

/** The finished reply, or undefined when it is not a whole object (cut by max tokens). */
export function parseJsonReply(text: string): JsonReply | undefined {
  let value: unknown
  try {
    value = JSON.parse(text.trim())
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  if (typeof record.tool === 'string') {
    const input = record.arguments
    return {
      kind: 'call',
      name: record.tool,
      input: typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {},
    }
  }
  if (typeof record.answer === 'string') return { kind: 'answer', text: record.answer }
  return undefined
}

const ANSWER_START = /^\s*\{\s*"answer"\s*:\s*"/
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

/**
 * Streams the answer's text while the object is generated: once the reply is known to be an
 * answer, each chunk's decoded string characters are passed on (an escape cut between chunks
 * waits for the rest). A call streams nothing.
 */
export class JsonAnswerStream {
  private raw = ''
  private at = -1
  private ended = false
  private streamed = ''

  /** The answer text that this chunk adds ('' when none). */
  push(chunk: string): string {
    this.raw += chunk
    if (this.at < 0) {
      const match = ANSWER_START.exec(this.raw)
      if (!match) return ''
      this.at = match[0].length
    }
    let out = ''
    while (!this.ended && this.at < this.raw.length) {
      const c = this.raw[this.at] as string
      if (c === '"') {
        this.ended = true
        break
      }
      if (c !== '\\') {
        out += c
        this.at++
        continue
      }
      const kind = this.raw[this.at + 1]
      if (kind === undefined) break
      if (kind === 'u') {
        const hex = this.raw.slice(this.at + 2, this.at + 6)
        if (hex.length < 4) break
        out += String.fromCharCode(Number.parseInt(hex, 16))
        this.at += 6
      } else {
        out += ESCAPES[kind] ?? kind
        this.at += 2
      }
    }
    this.streamed += out
    return out
  }

  /** The text passed on so far (the rest of a parsed answer is what it lacks). */
  get text(): string {
    return this.streamed
  }

  get response(): string {
    return this.raw
  }
}
