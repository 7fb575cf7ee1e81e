/**
 * ModelRequest -> a Chat Completions request body. Messages map one to one, except that each
 * tool result becomes its own `tool` message and images in tool results (which `tool` messages
 * cannot carry) follow in one `user` message after the results.
 */
import type {
  AssistantMessage,
  ImagePart,
  Message,
  ModelRequest,
  TextPart,
  ToolMessage,
} from '../../kernel/index.js'
import type { MaxTokensField } from './config.js'
import type { Flavour } from './endpoints.js'

type Json = Record<string, unknown>

export interface BodyOptions {
  readonly flavour: Flavour
  readonly maxTokensField: MaxTokensField
  readonly includeUsage: boolean
  readonly parallelToolCalls: boolean | undefined
  /** The model reasons (catalogue or config): OpenAI's reasoning models take `reasoning_effort` and refuse sampling options. */
  readonly reasoningModel: boolean
  /** `providerOptions[this]`: extra body fields, merged last. */
  readonly extra: Readonly<Json> | undefined
}

/** Tells the model a tool result is an error: OpenAI's tool messages have no error flag. */
export const TOOL_ERROR_PREFIX = 'Error: '

function imageUrl(part: ImagePart): string {
  if (part.data !== undefined) {
    return part.data.startsWith('data:') ? part.data : `data:${part.mediaType};base64,${part.data}`
  }
  return part.url ?? ''
}

function userContent(content: string | readonly (TextPart | ImagePart)[]): string | Json[] {
  if (typeof content === 'string') return content
  // Text only: a plain string, which every compatible server accepts.
  if (content.every((part) => part.type === 'text')) return content.map((part) => part.text).join('')
  return content.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text }
      : { type: 'image_url', image_url: { url: imageUrl(part) } },
  )
}

function assistantMessage(message: AssistantMessage): Json {
  let text = ''
  const calls: Json[] = []
  for (const part of message.content) {
    if (part.type === 'text') text += part.text
    else if (part.type === 'tool-call') {
      // Arguments that could not be parsed went into `input` as their raw text: send them back as they came.
      const args =
        part.inputError !== undefined && typeof part.input === 'string'
          ? part.input
          : JSON.stringify(part.input ?? {})
      calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: args } })
    }
    // Reasoning is not sent back: OpenAI takes none, and DeepSeek rejects `reasoning_content` in input.
  }
  if (calls.length === 0) return { role: 'assistant', content: text }
  return { role: 'assistant', content: text === '' ? null : text, tool_calls: calls }
}

/** Appends one `tool` message a result to `out` (no list of its own: the whole conversation is mapped every turn). */
function toolMessages(message: ToolMessage, images: Json[], out: Json[]): void {
  for (const result of message.content) {
    let text = ''
    let pictures = 0
    for (const part of result.content) {
      if (part.type === 'text') text += part.text
      else {
        pictures++
        images.push({ type: 'image_url', image_url: { url: imageUrl(part) } })
      }
    }
    if (pictures > 0) {
      text += `${text === '' ? '' : '\n'}[${pictures} image${pictures > 1 ? 's' : ''} attached in the next message]`
    }
    if (result.isError) text = `${TOOL_ERROR_PREFIX}${text}`
    out.push({ role: 'tool', tool_call_id: result.toolCallId, content: text })
  }
}

export function wireMessages(messages: readonly Message[]): Json[] {
  const out: Json[] = []
  let images: Json[] = []
  const flushImages = () => {
    if (images.length === 0) return
    out.push({ role: 'user', content: [{ type: 'text', text: 'Images returned by the tools:' }, ...images] })
    images = []
  }
  for (const message of messages) {
    if (message.role === 'tool') {
      toolMessages(message, images, out)
      continue
    }
    // Images from tool results go after the whole run of tool messages, which must stay together.
    flushImages()
    if (message.role === 'system') out.push({ role: 'system', content: message.content })
    else if (message.role === 'user') out.push({ role: 'user', content: userContent(message.content) })
    else out.push(assistantMessage(message))
  }
  flushImages()
  return out
}

/** OpenAI's `reasoning_effort` from ModelRequest.reasoning (a token budget maps to the nearest effort). */
export function reasoningEffort(reasoning: ModelRequest['reasoning']): 'low' | 'medium' | 'high' | undefined {
  if (typeof reasoning !== 'object' || reasoning === null) return undefined
  if (reasoning.effort) return reasoning.effort
  const budget = reasoning.budgetTokens
  if (budget === undefined) return undefined
  return budget <= 4096 ? 'low' : budget <= 16_384 ? 'medium' : 'high'
}

/** A json_schema name OpenAI accepts: `^[a-zA-Z0-9_-]{1,64}$`. */
function schemaName(name: string | undefined): string {
  const cleaned = (name ?? 'response').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)
  return cleaned === '' ? 'response' : cleaned
}

export function chatBody(request: ModelRequest, options: BodyOptions): Json {
  const body: Json = { model: request.model.model, messages: wireMessages(request.messages) }
  const tools = request.tools ?? []
  if (tools.length > 0) {
    body.tools = tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }))
    const choice = request.toolChoice
    if (choice !== undefined) {
      body.tool_choice =
        typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } }
    }
    if (options.parallelToolCalls !== undefined) body.parallel_tool_calls = options.parallelToolCalls
  }
  if (request.responseFormat) {
    const format = request.responseFormat
    body.response_format = format.schema
      ? { type: 'json_schema', json_schema: { name: schemaName(format.name), schema: format.schema } }
      : { type: 'json_object' }
  }
  if (request.maxOutputTokens !== undefined) body[options.maxTokensField] = request.maxOutputTokens
  // OpenAI's reasoning models (o-series, gpt-5) refuse sampling settings other than the defaults.
  const official = options.flavour !== 'compatible'
  const samplingAllowed = !(official && options.reasoningModel)
  if (request.temperature !== undefined && samplingAllowed) body.temperature = request.temperature
  if (request.topP !== undefined && samplingAllowed) body.top_p = request.topP
  if (request.stop !== undefined && request.stop.length > 0) body.stop = [...request.stop]
  const effort = reasoningEffort(request.reasoning)
  // OpenAI and Azure refuse `reasoning_effort` for models that do not reason; compatible servers ignore it or use it.
  if (effort !== undefined && (!official || options.reasoningModel)) body.reasoning_effort = effort
  body.stream = true
  if (options.includeUsage) body.stream_options = { include_usage: true }
  if (options.extra) Object.assign(body, options.extra)
  return body
}
