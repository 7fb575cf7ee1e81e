/**
 * Anthropic's Messages API for the scripted server: `POST /v1/messages` (SSE when `stream: true`,
 * one JSON Message otherwise), `GET /v1/models` (a page of models) and `GET /v1/models/{id}`.
 *
 * The stream follows the real event sequence: `message_start` (usage with input and cache
 * tokens), a `ping`, then per content block `content_block_start` / `content_block_delta`... /
 * `content_block_stop` (thinking with its signature_delta, text, tool_use with input_json_delta),
 * then `message_delta` (stop_reason, output tokens) and `message_stop`. Every event is an
 * `event:` line and a `data:` line. Errors are `{type:'error', error:{type, message}}`, with the
 * HTTP status, or as an `event: error` inside a 200 stream.
 *
 * Under `/anthropic/v1/...` it plays Claude on Azure AI Foundry, which has no models endpoints.
 * A request without credentials (neither x-api-key nor Authorization) gets the API's 401.
 *
 * Turns may carry Anthropic-only extras (AnthropicScriptTurn): a redacted thinking block, the
 * raw stop_reason, the type of an in-stream error, the thinking signature.
 */
import type { FinishReason } from '../../../kernel/index.js'
import { argumentsText, deltas, finishReasonOf, type ScriptTurn } from '../script.js'
import type { ScriptedModel, WireContext, WireRenderer, WireRequest, WireResponse } from './types.js'

export interface AnthropicScriptTurn extends ScriptTurn {
  /** A redacted_thinking block (its opaque `data`), sent before the thinking block. */
  readonly redactedThinking?: string
  /** The thinking block's signature (default: derived from the reasoning text). */
  readonly signature?: string
  /** The wire stop_reason, e.g. 'pause_turn' or 'stop_sequence' (default: from finishReason). */
  readonly stopReason?: string
  /** The matched stop sequence, with stopReason 'stop_sequence'. */
  readonly stopSequence?: string
  /** The `error.type` of `streamError` (default 'overloaded_error'). */
  readonly streamErrorType?: string
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
}

const STOP_REASONS: Record<FinishReason, string> = {
  stop: 'end_turn',
  'tool-calls': 'tool_use',
  length: 'max_tokens',
  'content-filter': 'refusal',
  error: 'end_turn',
  aborted: 'end_turn',
}

let sequence = 0
const nextId = (prefix: string) => `${prefix}_scripted${String(++sequence).padStart(6, '0')}`

/** A stand-in for the opaque signature Anthropic puts on thinking blocks. */
export function scriptedSignature(reasoning: string): string {
  return Buffer.from(`scripted-signature:${reasoning.length}:${reasoning.slice(0, 32)}`).toString('base64')
}

function errorBody(type: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId })
}

function errorResponse(status: number, message: string, headers: Record<string, string> = {}): WireResponse {
  const requestId = nextId('req')
  return {
    status,
    headers: { 'content-type': 'application/json', 'request-id': requestId, ...headers },
    chunks: [
      errorBody(
        ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'),
        message,
        requestId,
      ),
    ],
  }
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

function modelInfo(model: ScriptedModel): Record<string, unknown> {
  const caps = new Set(model.capabilities ?? [])
  const supported = (yes: boolean) => ({ supported: yes })
  return {
    type: 'model',
    id: model.name,
    display_name: model.name,
    created_at: '2025-09-29T00:00:00Z',
    max_input_tokens: model.contextLength ?? null,
    max_tokens: null,
    capabilities: {
      image_input: supported(caps.has('vision')),
      thinking: {
        supported: caps.has('thinking'),
        types: { enabled: supported(caps.has('thinking')), adaptive: supported(false) },
      },
      structured_outputs: supported(false),
    },
  }
}

function usageOf(turn: ScriptTurn) {
  return {
    input_tokens: turn.usage?.inputTokens ?? 0,
    cache_creation_input_tokens: turn.usage?.cacheWriteTokens ?? 0,
    cache_read_input_tokens: turn.usage?.cacheReadTokens ?? 0,
    output_tokens: turn.usage?.outputTokens ?? 0,
  }
}

function toolInput(call: NonNullable<ScriptTurn['toolCalls']>[number]): unknown {
  if (call.input) return call.input
  try {
    return JSON.parse(argumentsText(call))
  } catch {
    return {}
  }
}

/** The exact argument text of each rendered tool_use block (broken JSON included), for streaming. */
const argumentTexts = new WeakMap<object, string>()

/** The content blocks of a turn, in the order Claude produces them; tool_use keeps its argument text aside. */
function blocks(turn: AnthropicScriptTurn): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  if (turn.redactedThinking !== undefined)
    out.push({ type: 'redacted_thinking', data: turn.redactedThinking })
  if (turn.reasoning)
    out.push({
      type: 'thinking',
      thinking: turn.reasoning,
      signature: turn.signature ?? scriptedSignature(turn.reasoning),
    })
  if (turn.text) out.push({ type: 'text', text: turn.text })
  for (const call of turn.toolCalls ?? []) {
    const block = {
      type: 'tool_use',
      id: call.id ?? nextId('toolu'),
      name: call.name,
      input: toolInput(call),
    }
    argumentTexts.set(block, argumentsText(call))
    out.push(block)
  }
  return out
}

function stopReasonOf(turn: AnthropicScriptTurn): string {
  return turn.stopReason ?? STOP_REASONS[finishReasonOf(turn)]
}

function streamChunks(turn: AnthropicScriptTurn, model: string): string[] {
  const size = turn.deltaChars ?? 8
  const usage = usageOf(turn)
  const chunks: string[] = [
    sse('message_start', {
      type: 'message_start',
      message: {
        id: nextId('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
      },
    }),
    sse('ping', { type: 'ping' }),
  ]
  const delta = (index: number, payload: Record<string, unknown>) =>
    sse('content_block_delta', { type: 'content_block_delta', index, delta: payload })
  for (const [index, block] of blocks(turn).entries()) {
    const start = (content: Record<string, unknown>) =>
      chunks.push(sse('content_block_start', { type: 'content_block_start', index, content_block: content }))
    if (block.type === 'thinking') {
      start({ type: 'thinking', thinking: '', signature: '' })
      for (const piece of deltas(block.thinking as string, size))
        chunks.push(delta(index, { type: 'thinking_delta', thinking: piece }))
      chunks.push(delta(index, { type: 'signature_delta', signature: block.signature }))
    } else if (block.type === 'redacted_thinking') {
      start(block)
    } else if (block.type === 'text') {
      start({ type: 'text', text: '' })
      for (const piece of deltas(block.text as string, size))
        chunks.push(delta(index, { type: 'text_delta', text: piece }))
    } else {
      start({ type: 'tool_use', id: block.id, name: block.name, input: {} })
      const args = argumentTexts.get(block) ?? JSON.stringify(block.input)
      // Anthropic opens every tool input with an empty partial_json.
      chunks.push(delta(index, { type: 'input_json_delta', partial_json: '' }))
      for (const piece of deltas(args, size))
        chunks.push(delta(index, { type: 'input_json_delta', partial_json: piece }))
    }
    chunks.push(sse('content_block_stop', { type: 'content_block_stop', index }))
  }
  if (turn.streamError !== undefined) {
    chunks.push(
      sse('error', {
        type: 'error',
        error: { type: turn.streamErrorType ?? 'overloaded_error', message: turn.streamError },
      }),
    )
    return chunks
  }
  chunks.push(
    sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReasonOf(turn), stop_sequence: turn.stopSequence ?? null },
      usage: { output_tokens: usage.output_tokens },
    }),
    sse('message_stop', { type: 'message_stop' }),
  )
  return chunks
}

function messageJson(turn: AnthropicScriptTurn, model: string): string {
  return JSON.stringify({
    id: nextId('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content: blocks(turn),
    stop_reason: stopReasonOf(turn),
    stop_sequence: turn.stopSequence ?? null,
    usage: usageOf(turn),
  })
}

function messages(request: WireRequest, context: WireContext): WireResponse {
  const body = (request.body ?? {}) as { model?: unknown; stream?: unknown }
  const turn = context.next() as AnthropicScriptTurn | undefined
  if (!turn) return errorResponse(500, 'scripted anthropic server: the script has no turn left')
  if (turn.status !== undefined && (turn.status < 200 || turn.status >= 300))
    return { ...errorResponse(turn.status, turn.errorMessage ?? 'scripted error', turn.headers), turn }
  const stream = body.stream === true
  const requestId = nextId('req')
  const headers: Record<string, string> = stream
    ? {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'request-id': requestId,
      }
    : { 'content-type': 'application/json', 'request-id': requestId }
  if (turn.raw !== undefined)
    return { status: 200, headers: { ...headers, ...turn.headers }, chunks: [turn.raw], turn }
  const model = typeof body.model === 'string' ? body.model : 'claude-scripted'
  return {
    status: 200,
    headers: { ...headers, ...turn.headers },
    chunks: stream ? streamChunks(turn, model) : [messageJson(turn, model)],
    turn,
  }
}

function listModels(request: WireRequest, context: WireContext): WireResponse {
  const url = new URL(request.path, 'http://scripted')
  const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get('limit') ?? 20) || 20))
  const after = url.searchParams.get('after_id')
  let models = [...context.models]
  if (after) models = models.slice(models.findIndex((m) => m.name === after) + 1)
  const page = models.slice(0, limit).map(modelInfo)
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'request-id': nextId('req') },
    chunks: [
      JSON.stringify({
        data: page,
        has_more: models.length > limit,
        first_id: (page[0]?.id as string | undefined) ?? null,
        last_id: (page[page.length - 1]?.id as string | undefined) ?? null,
      }),
    ],
  }
}

/** Azure AI Foundry serves the same API under `/anthropic/`, without the models endpoints. */
const FOUNDRY_PREFIX = '/anthropic'

export const anthropicWire: WireRenderer = {
  handle(request, context) {
    let path = new URL(request.path, 'http://scripted').pathname
    const foundry = path.startsWith(`${FOUNDRY_PREFIX}/`)
    if (foundry) path = path.slice(FOUNDRY_PREFIX.length)
    if (!path.startsWith('/v1/')) return undefined
    // Like the real API: no credentials at all is a 401 before anything else.
    if (request.headers['x-api-key'] === undefined && request.headers.authorization === undefined)
      return errorResponse(401, 'x-api-key header is required')
    if (request.method === 'POST' && path === '/v1/messages') return messages(request, context)
    if (foundry) return errorResponse(404, `Not found: ${request.method} ${FOUNDRY_PREFIX}${path}`)
    if (request.method === 'GET' && path === '/v1/models') return listModels(request, context)
    const one = /^\/v1\/models\/([^/]+)$/.exec(path)
    if (request.method === 'GET' && one) {
      const id = decodeURIComponent(one[1]!)
      const model = context.models.find((m) => m.name === id)
      if (!model) return errorResponse(404, `model: ${id}`)
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'request-id': nextId('req') },
        chunks: [JSON.stringify(modelInfo(model))],
      }
    }
    return errorResponse(404, `Not found: ${request.method} ${path}`)
  },
}
