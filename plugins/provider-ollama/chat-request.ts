/**
 * A ModelRequest as the body of Ollama's POST /api/chat.
 *
 * Roles map one to one. Tool calls go back as `tool_calls` with their arguments as an object, and
 * tool results as `tool` messages naming the tool (`tool_name`, which every version reads) and the
 * call (`tool_call_id`, which recent versions read). Images are base64 in `images`. Reasoning goes
 * back as `thinking`, which Ollama's templates use or drop per model.
 */
import type {
  ImagePart,
  Message,
  ModelRequest,
  TextPart,
  ToolCallPart,
  ToolDefinition,
} from '../../kernel/index.js'
import { ProviderError, parseToolArguments } from '../providers/index.js'

export type ThinkValue = boolean | 'low' | 'medium' | 'high'

export interface OllamaToolCall {
  id?: string
  function: { name: string; arguments: Record<string, unknown> }
}

export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
  thinking?: string
  images?: string[]
  tool_calls?: OllamaToolCall[]
  tool_name?: string
  tool_call_id?: string
}

export interface OllamaTool {
  type: 'function'
  function: { name: string; description: string; parameters: Record<string, unknown> }
}

export interface OllamaChatRequest {
  model: string
  messages: OllamaMessage[]
  tools?: OllamaTool[]
  think?: ThinkValue
  format?: 'json' | Record<string, unknown>
  options?: Record<string, unknown>
  keep_alive?: string | number
  stream: boolean
}

export interface ChatRequestSettings {
  readonly keepAlive?: string | number | undefined
  readonly numCtx?: number | undefined
  /** Model-name prefixes whose `think` takes a level. */
  readonly thinkLevels: readonly string[]
}

/** What `providerOptions.ollama` may carry. */
export interface OllamaProviderOptions {
  /** Merged over the options tau sets (`{ seed: 1, top_k: 20, num_ctx: 65536 }`). */
  options?: Record<string, unknown>
  keep_alive?: string | number
  /** Overrides the value derived from `reasoning`. */
  think?: ThinkValue
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The model's own name, without namespace or registry: `hf.co/org/qwen3:8b` -> `qwen3:8b`. */
function baseName(model: string): string {
  return (model.split('/').pop() ?? model).toLowerCase()
}

function takesLevels(model: string, prefixes: readonly string[]): boolean {
  const name = baseName(model)
  return prefixes.some((prefix) => name.startsWith(prefix.toLowerCase()))
}

function effortFromBudget(budget: number): 'low' | 'medium' | 'high' {
  return budget < 4096 ? 'low' : budget < 16_384 ? 'medium' : 'high'
}

/**
 * `think` from ModelRequest.reasoning. Unset stays unset (Ollama then thinks by default on
 * thinking models). Models that take levels cannot turn thinking off: false asks for 'low'.
 */
export function thinkValue(
  model: string,
  reasoning: ModelRequest['reasoning'],
  levelPrefixes: readonly string[],
): ThinkValue | undefined {
  if (reasoning === undefined) return undefined
  const levels = takesLevels(model, levelPrefixes)
  if (reasoning === false) return levels ? 'low' : false
  if (reasoning === true) return levels ? 'medium' : true
  if (!levels) return true
  if (reasoning.effort) return reasoning.effort
  return reasoning.budgetTokens !== undefined ? effortFromBudget(reasoning.budgetTokens) : 'medium'
}

const DATA_URL = /^data:[^;,]*(;[^,]*)?;base64,/

function imageData(image: ImagePart): string {
  if (image.data !== undefined) return image.data.replace(DATA_URL, '')
  if (image.url !== undefined && DATA_URL.test(image.url)) return image.url.replace(DATA_URL, '')
  // The URL itself stays out of the message: signed URLs carry credentials.
  throw new ProviderError(
    'unsupported',
    'ollama: images must be sent as base64 data; Ollama does not fetch images by URL',
    { provider: 'ollama', plugin: 'provider-ollama', retryable: false },
  )
}

function toolArguments(call: ToolCallPart): Record<string, unknown> {
  if (isObject(call.input)) return call.input
  // A call whose arguments could not be parsed keeps the raw text as input; Ollama needs an object.
  const parsed = parseToolArguments(call.input)
  return parsed.ok ? parsed.value : {}
}

function userMessage(content: string | readonly (TextPart | ImagePart)[]): OllamaMessage {
  if (typeof content === 'string') return { role: 'user', content }
  const text = content.filter((p): p is TextPart => p.type === 'text').map((p) => p.text)
  const images = content.filter((p): p is ImagePart => p.type === 'image').map(imageData)
  return { role: 'user', content: text.join('\n'), ...(images.length > 0 ? { images } : {}) }
}

// One pass over each message's parts: the whole conversation is mapped on every turn.
function assistantMessage(message: Extract<Message, { role: 'assistant' }>): OllamaMessage {
  let content = ''
  let thinking = ''
  let calls: Array<{ id: string; function: { name: string; arguments: Record<string, unknown> } }> | undefined
  for (const part of message.content) {
    if (part.type === 'text') content += part.text
    else if (part.type === 'reasoning') {
      if (!part.redacted) thinking += part.text
    } else if (part.type === 'tool-call') {
      calls ??= []
      calls.push({ id: part.id, function: { name: part.name, arguments: toolArguments(part) } })
    }
  }
  // Fields assigned in order, not spread: no throwaway object per message per turn.
  const out: OllamaMessage = { role: 'assistant', content }
  if (thinking !== '') out.thinking = thinking
  if (calls !== undefined) out.tool_calls = calls
  return out
}

/** Appends one `tool` message a result to `list` (no list of its own: the whole conversation is mapped every turn). */
function toolMessages(message: Extract<Message, { role: 'tool' }>, list: OllamaMessage[]): void {
  for (const result of message.content) {
    let text: string | undefined
    let images: string[] | undefined
    for (const part of result.content) {
      if (part.type === 'text') text = text === undefined ? part.text : `${text}\n${part.text}`
      else if (part.type === 'image') {
        images ??= []
        images.push(imageData(part))
      }
    }
    text ??= ''
    // Ollama has no error flag on tool results: the model reads it from the text.
    const content = result.isError && !/^error\b/i.test(text) ? `Error: ${text}` : text
    const out: OllamaMessage = { role: 'tool', content }
    if (images !== undefined) out.images = images
    out.tool_name = result.toolName
    out.tool_call_id = result.toolCallId
    list.push(out)
  }
}

export function toOllamaMessages(messages: readonly Message[]): OllamaMessage[] {
  const out: OllamaMessage[] = []
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        out.push({ role: 'system', content: message.content })
        break
      case 'user':
        out.push(userMessage(message.content))
        break
      case 'assistant':
        out.push(assistantMessage(message))
        break
      case 'tool':
        toolMessages(message, out)
        break
    }
  }
  return out
}

export function toOllamaTools(tools: readonly ToolDefinition[]): OllamaTool[] {
  return tools.map((tool) => ({
    type: 'function' as const,
    function: { name: tool.name, description: tool.description, parameters: { ...tool.inputSchema } },
  }))
}

/** Ollama has no tool_choice: 'none' sends no tools, a named tool is sent alone, 'required' cannot be enforced. */
function offeredTools(request: ModelRequest): readonly ToolDefinition[] {
  const tools = request.tools ?? []
  const choice = request.toolChoice
  if (choice === 'none') return []
  if (typeof choice === 'object') return tools.filter((tool) => tool.name === choice.name)
  return tools
}

export function providerOptionsOf(request: ModelRequest): OllamaProviderOptions {
  const raw = request.providerOptions?.ollama
  return isObject(raw) ? (raw as OllamaProviderOptions) : {}
}

export function toOllamaChatRequest(request: ModelRequest, settings: ChatRequestSettings): OllamaChatRequest {
  const extra = providerOptionsOf(request)
  const body: OllamaChatRequest = {
    model: request.model.model,
    messages: toOllamaMessages(request.messages),
    stream: true,
  }
  const tools = offeredTools(request)
  if (tools.length > 0) body.tools = toOllamaTools(tools)
  const think = extra.think ?? thinkValue(request.model.model, request.reasoning, settings.thinkLevels)
  if (think !== undefined) body.think = think
  if (request.responseFormat)
    body.format = request.responseFormat.schema ? { ...request.responseFormat.schema } : 'json'
  const options: Record<string, unknown> = {}
  if (request.temperature !== undefined) options.temperature = request.temperature
  if (request.topP !== undefined) options.top_p = request.topP
  if (request.maxOutputTokens !== undefined) options.num_predict = request.maxOutputTokens
  if (request.stop && request.stop.length > 0) options.stop = [...request.stop]
  if (settings.numCtx !== undefined) options.num_ctx = settings.numCtx
  if (isObject(extra.options)) Object.assign(options, extra.options)
  if (Object.keys(options).length > 0) body.options = options
  const keepAlive = extra.keep_alive ?? settings.keepAlive
  if (keepAlive !== undefined) body.keep_alive = keepAlive
  return body
}
