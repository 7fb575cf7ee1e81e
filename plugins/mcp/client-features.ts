/**
 * What tau offers MCP servers as a client: roots (the workspace roots), logging (server log
 * messages to tau's logger), sampling (tau's own model, per server, off by default) and
 * elicitation (a replaceable handler; headless tau declines). Each is declared at connect.
 */
import { basename } from 'node:path'
import { pathToFileURL } from 'node:url'
import type {
  ClientCapabilities,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequest,
  ElicitResult,
  LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js'
import {
  defineService,
  formatModelRef,
  type ImagePart,
  type Logger,
  type Message,
  parseModelRef,
  type TextPart,
} from '../../kernel/index.js'
import type { ProviderRegistry } from '../providers/index.js'
import type { McpLogLevel } from './config.js'

// ---------------------------------------------------------------------------------------------
// Elicitation

/** A server asks the user something: a form (a flat JSON Schema) or a URL to open. */
export type ElicitationRequest =
  | {
      readonly server: string
      readonly mode: 'form'
      readonly message: string
      readonly requestedSchema: Readonly<Record<string, unknown>>
    }
  | {
      readonly server: string
      readonly mode: 'url'
      readonly message: string
      readonly url: string
      readonly elicitationId: string
    }

/** The user's answer: `accept` (with the form's content for form mode), `decline` or `cancel`. */
export interface ElicitationAnswer {
  readonly action: 'accept' | 'decline' | 'cancel'
  readonly content?: Readonly<Record<string, string | number | boolean | string[]>>
}

export type ElicitationHandler = (
  request: ElicitationRequest,
  signal: AbortSignal,
) => Promise<ElicitationAnswer>

/** The `mcp.elicitation` service: a frontend replaces the handler to ask its user. */
export interface McpElicitation {
  /** Replaces the handler; returns a function that puts the previous one back. */
  setHandler(handler: ElicitationHandler): () => void
  /** What the current handler answers (the default declines: there is no one to ask). */
  handle(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer>
}

export const mcpElicitationRef = defineService<McpElicitation>('mcp.elicitation', {
  description: 'Answers MCP elicitation requests; a frontend replaces its handler to ask the user.',
})

/** Headless: nobody to ask, so every request is declined. */
export const declineElicitation: ElicitationHandler = async () => ({ action: 'decline' })

export class ElicitationBroker implements McpElicitation {
  private handler: ElicitationHandler = declineElicitation

  setHandler(handler: ElicitationHandler): () => void {
    const previous = this.handler
    this.handler = handler
    return () => {
      if (this.handler === handler) this.handler = previous
    }
  }

  handle(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer> {
    return this.handler(request, signal)
  }
}

/** An `elicitation/create` request of the SDK as an ElicitationRequest. */
export function toElicitationRequest(server: string, params: ElicitRequest['params']): ElicitationRequest {
  if (params.mode === 'url') {
    return {
      server,
      mode: 'url',
      message: params.message,
      url: params.url,
      elicitationId: params.elicitationId,
    }
  }
  return {
    server,
    mode: 'form',
    message: params.message,
    requestedSchema: params.requestedSchema as Record<string, unknown>,
  }
}

export function toElicitResult(answer: ElicitationAnswer): ElicitResult {
  return answer.action === 'accept' && answer.content
    ? { action: 'accept', content: { ...answer.content } }
    : { action: answer.action }
}

// ---------------------------------------------------------------------------------------------
// Roots

export interface Root {
  readonly uri: string
  readonly name: string
}

/** Workspace roots as MCP roots (`file://` URIs), without duplicates, in order. */
export function rootsOf(paths: readonly string[]): Root[] {
  const seen = new Set<string>()
  const roots: Root[] = []
  for (const path of paths) {
    const uri = pathToFileURL(path).href
    if (seen.has(uri)) continue
    seen.add(uri)
    roots.push({ uri, name: basename(path) || path })
  }
  return roots
}

// ---------------------------------------------------------------------------------------------
// Logging

/** An MCP log level as the level of tau's logger. */
export function loggerLevel(level: McpLogLevel): 'debug' | 'info' | 'warn' | 'error' {
  switch (level) {
    case 'debug':
      return 'debug'
    case 'info':
    case 'notice':
      return 'info'
    case 'warning':
      return 'warn'
    default:
      return 'error'
  }
}

/** Writes a server's `notifications/message` to tau's logger at the matching level. */
export function logServerMessage(
  logger: Logger,
  server: string,
  params: LoggingMessageNotification['params'],
): void {
  const data = typeof params.data === 'string' ? params.data : JSON.stringify(params.data)
  const source = params.logger ? `${server}/${params.logger}` : server
  logger[loggerLevel(params.level)](`[${source}] ${data}`, {
    server,
    mcpLevel: params.level,
    ...(params.logger ? { mcpLogger: params.logger } : {}),
  })
}

// ---------------------------------------------------------------------------------------------
// Sampling

/** Answers a server's `sampling/createMessage`; throws (the server gets the message) to refuse. */
export type Sampler = (
  server: string,
  params: CreateMessageRequest['params'],
  signal: AbortSignal,
) => Promise<CreateMessageResult>

type SamplingBlock = { type: string; text?: string; data?: string; mimeType?: string }

function samplingParts(content: SamplingBlock | readonly SamplingBlock[]): Array<TextPart | ImagePart> {
  const blocks = Array.isArray(content) ? content : [content as SamplingBlock]
  return blocks.map((block): TextPart | ImagePart => {
    if (block.type === 'text') return { type: 'text', text: block.text ?? '' }
    if (block.type === 'image' && block.data && block.mimeType) {
      return { type: 'image', mediaType: block.mimeType, data: block.data }
    }
    return {
      type: 'text',
      text: `[${block.type}${block.mimeType ? ` ${block.mimeType}` : ''} not supported]`,
    }
  })
}

/**
 * A sampler on tau's provider registry with the config's `model`. The server's model
 * preferences are hints only: tau answers with the model the user chose.
 */
export function providerSampler(registry: ProviderRegistry | undefined, model: unknown): Sampler {
  return async (server, params, signal) => {
    if (!registry) throw new Error(`tau cannot sample for '${server}': no model providers are loaded`)
    if (typeof model !== 'string' || model === '') {
      throw new Error(`tau cannot sample for '${server}': no \`model\` is configured`)
    }
    const ref = parseModelRef(model)
    if (!ref.ok)
      throw new Error(`tau cannot sample for '${server}': the configured model '${model}' is invalid`)
    const messages: Message[] = []
    if (params.systemPrompt) messages.push({ role: 'system', content: params.systemPrompt })
    for (const message of params.messages) {
      const parts = samplingParts(message.content as SamplingBlock | SamplingBlock[])
      if (message.role === 'user') messages.push({ role: 'user', content: parts })
      else
        messages.push({
          role: 'assistant',
          content: parts.filter((p): p is TextPart => p.type === 'text'),
        })
    }
    const response = await registry.complete(
      {
        model: ref.value,
        messages,
        maxOutputTokens: params.maxTokens,
        ...(params.temperature === undefined ? {} : { temperature: params.temperature }),
        ...(params.stopSequences === undefined ? {} : { stop: params.stopSequences }),
      },
      { signal },
    )
    const text = response.message.content
      .filter((p): p is TextPart => p.type === 'text')
      .map((p) => p.text)
      .join('')
    const stopReason =
      response.finishReason === 'length'
        ? 'maxTokens'
        : response.finishReason === 'stop'
          ? 'endTurn'
          : response.finishReason
    return {
      role: 'assistant',
      content: { type: 'text', text },
      model: formatModelRef(response.model),
      stopReason,
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Capabilities

/** What tau declares to one server. Sampling only where the server's config allows it. */
export function clientCapabilities(options: { sampling: boolean; roots: boolean }): ClientCapabilities {
  return {
    ...(options.roots ? { roots: { listChanged: false } } : {}),
    elicitation: { form: {}, url: {} },
    ...(options.sampling ? { sampling: {} } : {}),
  }
}
