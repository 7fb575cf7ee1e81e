/**
 * Tools for models without native tool calling: the tools are described in the system prompt,
 * past calls and results are written into the conversation as text, and calls are parsed back
 * out of the answer. Two forms are recognised, as Qwen/Hermes-style models emit them:
 *
 *   <tool_call>{"name": "Read", "arguments": {"file_path": "a.ts"}}</tool_call>
 *
 * and a fenced JSON block whose `name` is one of the offered tools. Text around the calls streams
 * through as it arrives; only what might be the start of a call is held back.
 */
import type {
  Message,
  ModelRequest,
  StreamEvent,
  TextPart,
  ToolCallPart,
  ToolDefinition,
} from '../../kernel/index.js'
import { parseToolArguments } from './tool-arguments.js'

const OPEN = '<tool_call>'
const CLOSE = '</tool_call>'
const FENCE = '```'

export function toolsPrompt(tools: readonly ToolDefinition[]): string {
  const described = tools.map((tool) =>
    JSON.stringify({ name: tool.name, description: tool.description, parameters: tool.inputSchema }),
  )
  return [
    '# Tools',
    '',
    'You may call one or more tools to help with the request. The tools are described here:',
    '<tools>',
    ...described,
    '</tools>',
    '',
    'To call a tool, write a JSON object with its name and arguments inside <tool_call></tool_call> tags, one call per tag:',
    '<tool_call>',
    '{"name": "<tool name>", "arguments": {<arguments as JSON>}}',
    '</tool_call>',
    'After your calls, stop and wait: the results come back in <tool_response> tags.',
  ].join('\n')
}

function callText(call: ToolCallPart): string {
  return `${OPEN}\n${JSON.stringify({ name: call.name, arguments: call.input })}\n${CLOSE}`
}

/** Rewrites a request with tools into one without: tools in the system prompt, calls as text. */
export function toPromptToolsRequest(request: ModelRequest): ModelRequest {
  const tools = request.tools ?? []
  const messages: Message[] = []
  const prompt = toolsPrompt(tools)
  const system = request.messages.find((m) => m.role === 'system')
  messages.push({ role: 'system', content: system ? `${system.content}\n\n${prompt}` : prompt })
  for (const message of request.messages) {
    if (message.role === 'system') continue
    if (message.role === 'assistant') {
      const text = message.content
        .map((part) => (part.type === 'text' ? part.text : part.type === 'tool-call' ? callText(part) : ''))
        .filter((t) => t !== '')
        .join('\n')
      messages.push({ role: 'assistant', content: [{ type: 'text', text }] })
    } else if (message.role === 'tool') {
      const text = message.content
        .map((result) => {
          const body = result.content
            .filter((c): c is TextPart => c.type === 'text')
            .map((c) => c.text)
            .join('\n')
          const payload = JSON.stringify({
            name: result.toolName,
            error: result.isError === true,
            content: body,
          })
          return `<tool_response>\n${payload}\n</tool_response>`
        })
        .join('\n')
      messages.push({ role: 'user', content: text })
    } else messages.push(message)
  }
  const { tools: _tools, toolChoice: _choice, ...rest } = request
  return { ...rest, messages }
}

interface ParsedCall {
  name: string
  input: unknown
  inputError?: string
}

function parseCall(json: string, tools: ReadonlySet<string>, strict: boolean): ParsedCall | undefined {
  const parsed = parseToolArguments(json)
  if (!parsed.ok) {
    // Inside <tool_call> tags it was meant as a call: report the broken arguments to the model.
    return strict ? { name: 'unknown', input: json, inputError: parsed.error } : undefined
  }
  const {
    name,
    arguments: args,
    parameters,
  } = parsed.value as { name?: unknown; arguments?: unknown; parameters?: unknown }
  if (typeof name !== 'string' || (!strict && !tools.has(name))) return undefined
  const input = parseToolArguments(args ?? parameters ?? {})
  return input.ok ? { name, input: input.value } : { name, input: args, inputError: input.error }
}

/** The longest suffix of `text` that is a prefix of `marker` (what might be a marker starting). */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (marker.startsWith(text.slice(text.length - n))) return n
  }
  return 0
}

/**
 * Turns a text-only answer back into text and tool-call events. `nextId` makes stable ids
 * (models in this mode send none).
 */
export async function* parsePromptTools(
  events: AsyncIterable<StreamEvent>,
  tools: readonly ToolDefinition[],
  nextId: () => string,
): AsyncGenerator<StreamEvent> {
  const names = new Set(tools.map((t) => t.name))
  let buffer = ''
  let calls = 0
  const emitCall = function* (call: ParsedCall): Generator<StreamEvent> {
    const id = nextId()
    calls++
    yield { type: 'tool-call-start', id, name: call.name }
    yield call.inputError === undefined
      ? { type: 'tool-call-end', id, name: call.name, input: call.input }
      : { type: 'tool-call-end', id, name: call.name, input: call.input, inputError: call.inputError }
  }
  // Emits what can be emitted from the buffer; keeps an unfinished call or fence.
  let afterCall = false
  const drain = function* (final: boolean): Generator<StreamEvent> {
    for (;;) {
      if (afterCall) {
        // The line break that ends a call belongs to the call, not to the text.
        if (!final && /^[ \t\r]*$/.test(buffer)) return
        buffer = buffer.replace(/^[ \t]*\r?\n/, '')
        afterCall = false
      }
      const tag = buffer.indexOf(OPEN)
      const fence = buffer.indexOf(FENCE)
      const next = tag === -1 ? fence : fence === -1 ? tag : Math.min(tag, fence)
      if (next === -1) {
        const keep = final ? 0 : Math.max(partialSuffix(buffer, OPEN), partialSuffix(buffer, FENCE))
        const text = buffer.slice(0, buffer.length - keep)
        if (text !== '') yield { type: 'text-delta', text }
        buffer = buffer.slice(buffer.length - keep)
        return
      }
      if (next > 0) {
        yield { type: 'text-delta', text: buffer.slice(0, next) }
        buffer = buffer.slice(next)
      }
      if (buffer.startsWith(OPEN)) {
        const end = buffer.indexOf(CLOSE)
        if (end === -1) {
          if (!final) return
          // An unclosed tag at the end: the model stopped mid-call; take what is there.
          const call = parseCall(buffer.slice(OPEN.length), names, true)
          if (call) yield* emitCall(call)
          buffer = ''
          return
        }
        const call = parseCall(buffer.slice(OPEN.length, end), names, true)
        if (call) yield* emitCall(call)
        buffer = buffer.slice(end + CLOSE.length)
        afterCall = true
        continue
      }
      // A fenced block: a call only if it is JSON naming one of the offered tools.
      const close = buffer.indexOf(FENCE, FENCE.length)
      if (close === -1) {
        if (!final) return
        yield { type: 'text-delta', text: buffer }
        buffer = ''
        return
      }
      const block = buffer.slice(0, close + FENCE.length)
      const call = parseCall(block, names, false)
      if (call) yield* emitCall(call)
      else yield { type: 'text-delta', text: block }
      buffer = buffer.slice(block.length)
    }
  }
  for await (const event of events) {
    if (event.type === 'text-delta') {
      buffer += event.text
      yield* drain(false)
    } else if (event.type === 'finish') {
      yield* drain(true)
      // Only the reason changes: the provider's message id stays with the answer.
      yield { ...event, reason: calls > 0 && event.reason === 'stop' ? 'tool-calls' : event.reason }
    } else yield event
  }
  yield* drain(true)
}
