/**
 * A ModelRequest as the body of `POST /v1/messages`.
 *
 * - System messages go to the top-level `system` field (a list of text blocks, in order);
 *   Anthropic has no system role inside `messages`.
 * - User and tool messages are `user` turns, assistant messages `assistant` turns; consecutive
 *   turns of one role are merged (the API wants them alternating), and inside a user turn the
 *   tool_result blocks come first, as the API requires right after a tool_use turn.
 * - Tool calls are tool_use blocks; tool results tool_result blocks (text and images, is_error).
 * - Reasoning goes back as thinking blocks with their signature, redacted reasoning as
 *   redacted_thinking blocks with their data; reasoning without a signature (another provider's)
 *   cannot be verified by the API and is left out.
 * - Prompt caching marks the stable prefix with `cache_control: {type: 'ephemeral'}`, at most
 *   four breakpoints: the last tool, the last system block, the end of the history before the
 *   new turn (the second-to-last turn), and the new turn itself (the last turn), so the next
 *   call, whose history ends there, reads it from the cache.
 */
import type {
  AssistantMessage,
  ImagePart,
  Message,
  ModelRequest,
  TextPart,
  ToolResultPart,
} from '../../kernel/index.js'

type CacheControl = { type: 'ephemeral' }

export type WireBlock = { type: string; cache_control?: CacheControl; [key: string]: unknown }

export interface WireMessage {
  role: 'user' | 'assistant'
  content: WireBlock[]
}

export interface WireTool {
  name: string
  description: string
  input_schema: Record<string, unknown>
  cache_control?: CacheControl
}

export interface MessagesBody {
  model: string
  max_tokens: number
  messages: WireMessage[]
  system?: Array<{ type: 'text'; text: string; cache_control?: CacheControl }>
  tools?: WireTool[]
  tool_choice?: { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string }
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' }
  temperature?: number
  top_p?: number
  stop_sequences?: string[]
  output_config?: {
    format?: { type: 'json_schema'; schema: Record<string, unknown> }
    effort?: 'low' | 'medium' | 'high'
  }
  stream?: boolean
  [key: string]: unknown
}

export interface BuildOptions {
  /** max_tokens when the request sets none. */
  defaultMaxTokens: number
  /** `enabled`: thinking with budget_tokens; `adaptive`: the model decides how much. */
  thinkingType: 'enabled' | 'adaptive'
  /** Thinking budget for `reasoning: true`. */
  thinkingBudget: number
  promptCaching: boolean
  /** Told what was left out or changed, for a debug log. */
  note?: (message: string) => void
}

const EFFORT_BUDGET = { low: 2048, medium: 8192, high: 24_576 } as const
const MIN_BUDGET = 1024
const EPHEMERAL: CacheControl = { type: 'ephemeral' }

function imageBlock(part: ImagePart): WireBlock | undefined {
  if (part.data !== undefined && part.data !== '') {
    // Tolerate a data: URL where bare base64 is expected.
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(part.data)
    return {
      type: 'image',
      source: { type: 'base64', media_type: match?.[1] ?? part.mediaType, data: match?.[2] ?? part.data },
    }
  }
  if (part.url !== undefined) return { type: 'image', source: { type: 'url', url: part.url } }
  return undefined
}

function contentBlocks(parts: readonly (TextPart | ImagePart)[]): WireBlock[] {
  const out: WireBlock[] = []
  for (const part of parts) {
    if (part.type === 'text') {
      // The API rejects empty text blocks.
      if (part.text !== '') out.push({ type: 'text', text: part.text })
    } else {
      const image = imageBlock(part)
      if (image) out.push(image)
    }
  }
  return out
}

function toolResultBlock(part: ToolResultPart): WireBlock {
  // Fields assigned, not spread: this runs for every tool result of the conversation, every turn.
  const block: WireBlock = { type: 'tool_result', tool_use_id: part.toolCallId }
  const content = contentBlocks(part.content)
  if (content.length > 0) block.content = content
  if (part.isError) block.is_error = true
  return block
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function assistantBlocks(message: AssistantMessage, note: (message: string) => void): WireBlock[] {
  const out: WireBlock[] = []
  for (const part of message.content) {
    if (part.type === 'text') {
      if (part.text !== '') out.push({ type: 'text', text: part.text })
    } else if (part.type === 'reasoning') {
      const signature = part.signature
      if (part.redacted) {
        const data = signature || part.text
        if (data) out.push({ type: 'redacted_thinking', data })
      } else if (signature) {
        out.push({ type: 'thinking', thinking: part.text, signature })
      } else if (part.text !== '') {
        note('left out reasoning without a signature (the API only takes back its own thinking blocks)')
      }
    } else {
      // The API wants an object; unparseable arguments were answered with an error already.
      out.push({
        type: 'tool_use',
        id: part.id,
        name: part.name,
        input: isPlainObject(part.input) ? part.input : {},
      })
    }
  }
  return out
}

function toWireMessage(
  message: Exclude<Message, { role: 'system' }>,
  note: (m: string) => void,
): WireMessage {
  switch (message.role) {
    case 'user':
      return {
        role: 'user',
        content:
          typeof message.content === 'string'
            ? contentBlocks([{ type: 'text', text: message.content }])
            : contentBlocks(message.content),
      }
    case 'assistant':
      return { role: 'assistant', content: assistantBlocks(message, note) }
    case 'tool':
      return { role: 'user', content: message.content.map(toolResultBlock) }
  }
}

/** Whether a block that is not a tool_result comes before one that is. */
function resultsAfterOthers(blocks: readonly WireBlock[]): boolean {
  let other = false
  for (const block of blocks) {
    if (block.type !== 'tool_result') other = true
    else if (other) return true
  }
  return false
}

/**
 * Merges consecutive turns of one role; in user turns, tool results go first. The messages are
 * toWireMessage's, made for this request, so they are merged and reordered in place: the whole
 * conversation goes through here on every turn, and copying each turn's blocks was most of what
 * building a body allocated.
 */
function alternate(messages: WireMessage[]): WireMessage[] {
  const out: WireMessage[] = []
  for (const message of messages) {
    if (message.content.length === 0) continue
    const last = out[out.length - 1]
    if (last && last.role === message.role) {
      for (const block of message.content) last.content.push(block)
    } else out.push(message)
  }
  for (const message of out) {
    if (message.role !== 'user' || !resultsAfterOthers(message.content)) continue
    message.content = [
      ...message.content.filter((block) => block.type === 'tool_result'),
      ...message.content.filter((block) => block.type !== 'tool_result'),
    ]
  }
  return out
}

/** Puts a breakpoint on the last block that may carry one (thinking blocks may not). */
function markLast(blocks: readonly WireBlock[]): boolean {
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i]!
    if (block.type === 'thinking' || block.type === 'redacted_thinking') continue
    block.cache_control = EPHEMERAL
    return true
  }
  return false
}

function thinkingBudget(reasoning: ModelRequest['reasoning'], fallback: number): number | undefined {
  if (reasoning === undefined || reasoning === false) return undefined
  if (reasoning === true) return fallback
  const budget = reasoning.budgetTokens ?? (reasoning.effort ? EFFORT_BUDGET[reasoning.effort] : fallback)
  return Math.max(MIN_BUDGET, Math.floor(budget))
}

export function toMessagesRequest(request: ModelRequest, options: BuildOptions): MessagesBody {
  const note = options.note ?? (() => undefined)
  const system: NonNullable<MessagesBody['system']> = []
  const turns: WireMessage[] = []
  for (const message of request.messages) {
    if (message.role === 'system') {
      if (message.content !== '') system.push({ type: 'text', text: message.content })
    } else turns.push(toWireMessage(message, note))
  }
  const messages = alternate(turns)

  const tools: WireTool[] = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: { type: 'object', ...tool.inputSchema },
  }))
  let toolChoice: MessagesBody['tool_choice']
  if (tools.length > 0 && request.toolChoice !== undefined) {
    const choice = request.toolChoice
    toolChoice =
      choice === 'auto'
        ? { type: 'auto' }
        : choice === 'none'
          ? { type: 'none' }
          : choice === 'required'
            ? { type: 'any' }
            : { type: 'tool', name: choice.name }
  }

  let maxTokens = request.maxOutputTokens ?? options.defaultMaxTokens
  let budget = thinkingBudget(request.reasoning, options.thinkingBudget)
  if (budget !== undefined && (toolChoice?.type === 'any' || toolChoice?.type === 'tool')) {
    note('thinking left out: the API does not allow it with a tool_choice that forces a tool call')
    budget = undefined
  }
  const adaptive = budget !== undefined && options.thinkingType === 'adaptive'
  // Thinking counts against max_tokens and must stay below it: the answer keeps its room.
  if (budget !== undefined && !adaptive && budget >= maxTokens) maxTokens = budget + maxTokens

  const body: MessagesBody = { model: request.model.model, max_tokens: maxTokens, messages }
  if (system.length > 0) body.system = system
  if (tools.length > 0) body.tools = tools
  if (toolChoice) body.tool_choice = toolChoice
  if (adaptive) {
    body.thinking = { type: 'adaptive' }
    const effort = typeof request.reasoning === 'object' ? request.reasoning.effort : undefined
    if (effort) body.output_config = { effort }
  } else if (budget !== undefined) body.thinking = { type: 'enabled', budget_tokens: budget }
  if (request.temperature !== undefined) {
    if (budget === undefined) body.temperature = request.temperature
    else note('temperature left out: the API does not allow it with thinking')
  }
  if (request.topP !== undefined) {
    // With thinking, top_p is allowed only between 0.95 and 1.
    if (budget === undefined || request.topP >= 0.95) body.top_p = request.topP
    else note('top_p left out: with thinking the API allows only 0.95 to 1')
  }
  if (request.stop && request.stop.length > 0) body.stop_sequences = [...request.stop]
  if (request.responseFormat?.schema) {
    const format = { type: 'json_schema' as const, schema: { ...request.responseFormat.schema } }
    body.output_config = { ...body.output_config, format }
  }

  if (options.promptCaching) {
    if (tools.length > 0) tools[tools.length - 1]!.cache_control = EPHEMERAL
    if (system.length > 0) system[system.length - 1]!.cache_control = EPHEMERAL
    // The new turn, and the history before it (still cached if the new turn is retried or edited).
    const last = messages[messages.length - 1]
    const previous = messages[messages.length - 2]
    if (previous) markLast(previous.content)
    if (last) markLast(last.content)
  }

  const extra = request.providerOptions?.anthropic
  if (extra) Object.assign(body, extra)
  return body
}
