/**
 * What tau offers MCP servers as a client: roots (the workspace roots), logging (server log
 * messages to tau's logger), sampling (tau's own model, per server, off by default, behind the
 * user's confirmation) and elicitation (asked through the frontend; headless tau declines).
 * Each is declared at connect. What a server asks goes to the session whose call is in flight
 * (routing.ts), through that session's UserInteraction.
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
  formatModelRef,
  type ImagePart,
  type Logger,
  type Message,
  parseModelRef,
  type TextPart,
} from '../../kernel/index.js'
import type {
  ElicitationAnswer,
  ElicitationRequest,
  SamplingConfirmation,
  UserInteraction,
} from '../agent/index.js'
import type { ProviderRegistry } from '../providers/index.js'
import type { McpLogLevel } from './config.js'

// ---------------------------------------------------------------------------------------------
// The user's side: the contract is the agent's per-session UserInteraction (see routing.ts for
// which session is asked). The request and answer types are re-exported under their old home.

export type {
  ElicitationAnswer,
  ElicitationRequest,
  SamplingConfirmation,
  SamplingDecision,
} from '../agent/index.js'

/** What MCP asks of a session's UserInteraction. */
export type McpUserInteraction = Pick<UserInteraction, 'confirmSampling' | 'elicit' | 'authorize'>

/**
 * Fills the form fields the user left out with the schema's `default`s (SEP-1034), so an
 * accepted form carries every field that has one.
 */
export function applyFormDefaults(
  schema: Readonly<Record<string, unknown>>,
  content: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(content ?? {}) }
  const properties = schema.properties
  if (typeof properties !== 'object' || properties === null) return out
  for (const [name, property] of Object.entries(properties as Record<string, unknown>)) {
    if (out[name] !== undefined || typeof property !== 'object' || property === null) continue
    if ('default' in property) out[name] = (property as { default: unknown }).default
  }
  return out
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

/** What the user is shown to confirm a sampling request. */
export function samplingConfirmation(
  server: string,
  model: string,
  params: CreateMessageRequest['params'],
): SamplingConfirmation {
  const messages = params.messages.map((message) => {
    const blocks = (Array.isArray(message.content) ? message.content : [message.content]) as SamplingBlock[]
    const text = blocks
      .map((block) =>
        block.type === 'text'
          ? (block.text ?? '')
          : `[${block.type}${block.mimeType ? ` ${block.mimeType}` : ''}]`,
      )
      .join('\n')
    return { role: message.role, text }
  })
  return {
    server,
    model,
    messages,
    maxTokens: params.maxTokens,
    ...(params.systemPrompt === undefined ? {} : { systemPrompt: params.systemPrompt }),
    ...(params.includeContext === undefined ? {} : { includeContext: params.includeContext }),
  }
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
    ...(options.roots ? { roots: { listChanged: true } } : {}),
    elicitation: { form: {}, url: {} },
    ...(options.sampling ? { sampling: {} } : {}),
  }
}
