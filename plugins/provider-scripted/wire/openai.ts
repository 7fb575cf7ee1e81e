/**
 * OpenAI's Chat Completions API for the scripted server, as api.openai.com (and Azure OpenAI)
 * answer it:
 *
 *   POST /v1/chat/completions     SSE (`data: {chunk}` events, `data: [DONE]`), or one JSON object
 *   POST /v1/embeddings           float arrays, or base64 float32 with `encoding_format: "base64"`
 *   GET  /v1/models               `{ object: "list", data: [{ id, object: "model", created, owned_by }] }`
 *   GET  /v1/models/{id}          one model, or 404
 *
 * and the Azure OpenAI forms of the same calls, with Azure's extras (`prompt_filter_results` in a
 * first chunk with empty `choices`, `content_filter_results` on choices, Azure's error bodies):
 *
 *   POST /openai/deployments/{deployment}/chat/completions?api-version=...   (and /embeddings)
 *   GET  /openai/models?api-version=...
 *   POST /openai/v1/chat/completions, /openai/v1/embeddings, GET /openai/v1/models
 *   POST /models/chat/completions?api-version=...   (Azure AI Foundry model inference)
 *
 * Streams look like OpenAI's: a first chunk with `delta.role`, content deltas, tool calls by
 * `index` (id, type and name in the first delta of a call, then `function.arguments` pieces), a
 * chunk with `finish_reason`, and with `stream_options.include_usage` a last chunk with empty
 * `choices` and the usage (every other chunk then carries `usage: null`).
 *
 * Conventions of this scripted server (not of OpenAI):
 * - A model not in the server's models list gets OpenAI's 404 `model_not_found` (Azure:
 *   `DeploymentNotFound`) and takes no script turn; so does a request the API would reject
 *   (no model, no or empty messages).
 * - A credential (Bearer token or `api-key`) containing `invalid` gets a 401 in the API's shape;
 *   a request without any credential is served (as local OpenAI-compatible servers do).
 * - The script's reasoning is streamed as `delta.reasoning_content` (DeepSeek, vLLM); a request
 *   header `x-scripted-reasoning-field: reasoning` streams it as `delta.reasoning` (OpenRouter).
 * - A script tool call without an id is streamed without one (as some compatible servers do).
 * - `streamError` ends the stream with an OpenAI error event `data: {"error": {...}}` after the
 *   content, without finish chunk, usage or `[DONE]`.
 */
import { createHash } from 'node:crypto'
import type { FinishReason, Usage } from '../../../kernel/index.js'
import { argumentsText, deltas, finishReasonOf, type ScriptToolCall, type ScriptTurn } from '../script.js'
import type { ScriptedModel, WireContext, WireRenderer, WireRequest, WireResponse } from './types.js'

type Json = Record<string, unknown>

const JSON_TYPE = { 'content-type': 'application/json' }
const SSE_TYPE = { 'content-type': 'text/event-stream; charset=utf-8' }
/** A fixed "created" for models, as OpenAI reports them. */
const MODEL_CREATED = 1_715_367_049

type Flavour = 'openai' | 'azure'
type Operation = 'chat' | 'embeddings' | 'models' | 'model'

interface Route {
  readonly flavour: Flavour
  readonly operation: Operation
  /** Azure deployment (deployments form) or the model id of GET /models/{id}. */
  readonly name?: string
  /** The Azure form requires `api-version` in the query. */
  readonly needsVersion: boolean
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function route(method: string, pathname: string): Route | undefined {
  const path = pathname.replace(/\/+$/, '')
  const post = method === 'POST'
  const get = method === 'GET'
  const op = (tail: string): Operation | undefined =>
    post && tail === 'chat/completions'
      ? 'chat'
      : post && tail === 'embeddings'
        ? 'embeddings'
        : get && tail === 'models'
          ? 'models'
          : undefined
  let match = /^\/v1\/(chat\/completions|embeddings|models)$/.exec(path)
  if (match) {
    const operation = op(match[1]!)
    return operation ? { flavour: 'openai', operation, needsVersion: false } : undefined
  }
  match = /^\/v1\/models\/([^/]+)$/.exec(path)
  if (match && get) {
    return { flavour: 'openai', operation: 'model', name: decodeURIComponent(match[1]!), needsVersion: false }
  }
  match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(path)
  if (match) {
    const operation = op(match[2]!)
    return operation
      ? { flavour: 'azure', operation, name: decodeURIComponent(match[1]!), needsVersion: true }
      : undefined
  }
  if (path === '/openai/models' && get) return { flavour: 'azure', operation: 'models', needsVersion: true }
  match = /^\/openai\/v1\/(chat\/completions|embeddings|models)$/.exec(path)
  if (match) {
    const operation = op(match[1]!)
    return operation ? { flavour: 'azure', operation, needsVersion: false } : undefined
  }
  match = /^\/models\/(chat\/completions|embeddings)$/.exec(path)
  if (match) {
    const operation = op(match[1]!)
    return operation ? { flavour: 'azure', operation, needsVersion: true } : undefined
  }
  return undefined
}

/** Deterministic ids that look like OpenAI's, from a counter. */
let serial = 0
function token(prefix: string, length: number): string {
  serial++
  const hash = createHash('sha256').update(`${prefix}${serial}${process.pid}`).digest('base64url')
  return `${prefix}${hash.replace(/[-_]/g, 'x').slice(0, length)}`
}

function json(status: number, body: unknown, headers: Record<string, string> = {}, turn?: ScriptTurn) {
  const response: WireResponse = {
    status,
    headers: { ...JSON_TYPE, 'x-request-id': token('req_', 32), ...headers },
    chunks: [JSON.stringify(body)],
    ...(turn ? { turn } : {}),
  }
  return response
}

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
function openaiError(status: number, message: string, type: string, code: string | null, param?: string) {
  return json(status, { error: { message, type, param: param ?? null, code } })
}

/** Azure's error body: `{ error: { code, message } }` (some add `status`, `innererror`). */
function azureError(status: number, code: string, message: string) {
  return json(status, { error: { code, message } })
}

function errorForStatus(flavour: Flavour, status: number, message: string, headers: Record<string, string>) {
  if (flavour === 'azure') {
    const code =
      status === 404
        ? 'DeploymentNotFound'
        : status === 429
          ? '429'
          : status === 401
            ? '401'
            : /context length|maximum context/i.test(message)
              ? 'context_length_exceeded'
              : String(status)
    return json(status, { error: { code, message, ...(status < 500 ? { status } : {}) } }, headers)
  }
  const [type, code] =
    status === 401
      ? ['invalid_request_error', 'invalid_api_key']
      : status === 403
        ? ['invalid_request_error', 'unsupported_country_region_territory']
        : status === 404
          ? ['invalid_request_error', 'model_not_found']
          : status === 429
            ? ['requests', 'rate_limit_exceeded']
            : status >= 500
              ? ['server_error', null]
              : /maximum context length/i.test(message)
                ? ['invalid_request_error', 'context_length_exceeded']
                : ['invalid_request_error', null]
  return json(status, { error: { message, type, param: null, code } }, headers)
}

function credentialOf(request: WireRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header === 'string' && /^bearer\s+/i.test(header)) return header.replace(/^bearer\s+/i, '')
  const key = request.headers['api-key']
  return typeof key === 'string' ? key : undefined
}

function masked(key: string): string {
  return key.length > 8
    ? `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`
    : '***'
}

function unauthorized(flavour: Flavour, key: string): WireResponse {
  return flavour === 'azure'
    ? azureError(
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      )
    : openaiError(
        401,
        `Incorrect API key provided: ${masked(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        'invalid_request_error',
        'invalid_api_key',
      )
}

function findModel(models: readonly ScriptedModel[], name: unknown): ScriptedModel | undefined {
  return typeof name === 'string' ? models.find((m) => m.name === name) : undefined
}

function modelMissing(flavour: Flavour, name: string): WireResponse {
  return flavour === 'azure'
    ? azureError(
        404,
        'DeploymentNotFound',
        'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
      )
    : openaiError(
        404,
        `The model \`${name}\` does not exist or you do not have access to it.`,
        'invalid_request_error',
        'model_not_found',
      )
}

function modelObject(model: ScriptedModel, flavour: Flavour): Json {
  return flavour === 'azure'
    ? { id: model.name, object: 'model', created_at: MODEL_CREATED, status: 'succeeded' }
    : { id: model.name, object: 'model', created: MODEL_CREATED, owned_by: 'system' }
}

const SAFE = { filtered: false, severity: 'safe' }
const CONTENT_FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE }
const PROMPT_FILTER_RESULTS = [
  {
    prompt_index: 0,
    content_filter_results: {
      ...CONTENT_FILTER_RESULTS,
      jailbreak: { filtered: false, detected: false },
    },
  },
]

function finishReasonWire(reason: FinishReason): string {
  switch (reason) {
    case 'tool-calls':
      return 'tool_calls'
    case 'length':
      return 'length'
    case 'content-filter':
      return 'content_filter'
    default:
      return 'stop'
  }
}

function usageWire(usage: Usage | undefined): Json {
  const input = usage?.inputTokens ?? 0
  const output = usage?.outputTokens ?? 0
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: usage?.cacheReadTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage?.reasoningTokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  }
}

function toolCallWire(call: ScriptToolCall): Json {
  return {
    ...(call.id !== undefined ? { id: call.id } : {}),
    type: 'function',
    function: { name: call.name, arguments: argumentsText(call) },
  }
}

/** What a request asks of a chat call, checked the way the API checks it. */
function validateChat(route: Route, body: Json | undefined, context: WireContext): WireResponse | undefined {
  const reject = (message: string, code: string | null, param?: string) =>
    route.flavour === 'azure'
      ? json(400, { error: { message, type: 'invalid_request_error', param: param ?? null, code } })
      : openaiError(400, message, 'invalid_request_error', code, param)
  if (!body) return reject('We could not parse the JSON body of your request.', null)
  const deployment = route.name
  if (deployment !== undefined) {
    if (!findModel(context.models, deployment)) return modelMissing('azure', deployment)
  } else if (typeof body.model !== 'string' || body.model === '') {
    return reject('you must provide a model parameter', null)
  } else if (!findModel(context.models, body.model)) {
    return modelMissing(route.flavour, body.model)
  }
  if (!Array.isArray(body.messages))
    return reject("Missing required parameter: 'messages'.", 'missing_required_parameter', 'messages')
  if (body.messages.length === 0) {
    return reject(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'empty_array',
      'messages',
    )
  }
  if (body.stream_options !== undefined && body.stream_options !== null && body.stream !== true) {
    return reject(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'invalid_value',
      'stream_options',
    )
  }
  return undefined
}

function chatResponse(route: Route, request: WireRequest, context: WireContext): WireResponse {
  const body = isObject(request.body) ? request.body : undefined
  const invalid = validateChat(route, body, context)
  if (invalid) return invalid
  const model = route.name ?? String(body!.model)
  const stream = body!.stream === true
  const streamOptions = isObject(body!.stream_options) ? body!.stream_options : {}
  const turn = context.next()
  if (!turn) {
    return json(500, {
      error: { message: 'scripted openai server: the script has no turn left', type: 'server_error' },
    })
  }
  const extraHeaders = { ...turn.headers }
  if (turn.raw !== undefined) {
    return {
      status: turn.status ?? 200,
      headers: { ...(stream ? SSE_TYPE : JSON_TYPE), ...extraHeaders },
      chunks: [turn.raw],
      turn,
    }
  }
  if (turn.status !== undefined && (turn.status < 200 || turn.status >= 300)) {
    const response = errorForStatus(
      route.flavour,
      turn.status,
      turn.errorMessage ?? 'scripted error',
      extraHeaders,
    )
    return { ...response, turn }
  }
  const azure = route.flavour === 'azure'
  const id = token('chatcmpl-', 29)
  const created = Math.floor(Date.now() / 1000)
  const fingerprint = token('fp_', 10)
  const calls = turn.toolCalls ?? []
  const finish = finishReasonWire(finishReasonOf(turn))
  const reasoningField =
    request.headers['x-scripted-reasoning-field'] === 'reasoning' ? 'reasoning' : 'reasoning_content'

  if (!stream) {
    if (turn.streamError) {
      return { ...errorForStatus(route.flavour, 500, turn.streamError, extraHeaders), turn }
    }
    const message: Json = {
      role: 'assistant',
      content: turn.text ?? (calls.length > 0 ? null : ''),
      refusal: null,
      annotations: [],
      ...(turn.reasoning ? { [reasoningField]: turn.reasoning } : {}),
      ...(calls.length > 0 ? { tool_calls: calls.map(toolCallWire) } : {}),
    }
    return json(
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        ...(azure ? { prompt_filter_results: PROMPT_FILTER_RESULTS } : {}),
        choices: [
          {
            index: 0,
            message,
            logprobs: null,
            finish_reason: finish,
            ...(azure ? { content_filter_results: CONTENT_FILTER_RESULTS } : {}),
          },
        ],
        usage: usageWire(turn.usage),
        service_tier: 'default',
        system_fingerprint: fingerprint,
      },
      extraHeaders,
      turn,
    )
  }

  const includeUsage = streamOptions.include_usage === true
  // OpenAI pads chunks with a random `obfuscation` field unless the client turns it off.
  const obfuscate = !azure && streamOptions.include_obfuscation !== false
  const events: string[] = []
  const send = (data: unknown) => events.push(`data: ${JSON.stringify(data)}\n\n`)
  const chunk = (delta: Json, finishReason: string | null = null, filtered = false) => {
    send({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: fingerprint,
      choices: [
        {
          index: 0,
          delta,
          logprobs: null,
          finish_reason: finishReason,
          ...(azure ? { content_filter_results: filtered ? CONTENT_FILTER_RESULTS : {} } : {}),
        },
      ],
      ...(includeUsage ? { usage: null } : {}),
      ...(obfuscate ? { obfuscation: token('', 6) } : {}),
    })
  }
  if (azure) {
    // Azure's first event: the prompt's content-filter verdict, with no choices and blank fields.
    send({
      choices: [],
      created: 0,
      id: '',
      model: '',
      object: '',
      prompt_filter_results: PROMPT_FILTER_RESULTS,
    })
  }
  chunk({ role: 'assistant', content: '', refusal: null })
  const size = turn.deltaChars ?? 8
  if (turn.reasoning) {
    for (const piece of deltas(turn.reasoning, size)) chunk({ content: null, [reasoningField]: piece })
  }
  if (turn.text) for (const piece of deltas(turn.text, size)) chunk({ content: piece }, null, true)
  for (const [index, call] of calls.entries()) {
    chunk({
      tool_calls: [
        {
          index,
          ...(call.id !== undefined ? { id: call.id } : {}),
          type: 'function',
          function: { name: call.name, arguments: '' },
        },
      ],
    })
    for (const piece of deltas(argumentsText(call), size)) {
      chunk({ tool_calls: [{ index, function: { arguments: piece } }] })
    }
  }
  if (turn.streamError) {
    send({ error: { message: turn.streamError, type: 'server_error', param: null, code: null } })
    return { status: 200, headers: { ...SSE_TYPE, ...extraHeaders }, chunks: events, turn }
  }
  chunk({}, finish)
  if (includeUsage) {
    send({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: 'default',
      system_fingerprint: fingerprint,
      choices: [],
      usage: usageWire(turn.usage),
      ...(obfuscate ? { obfuscation: token('', 6) } : {}),
    })
  }
  events.push('data: [DONE]\n\n')
  return { status: 200, headers: { ...SSE_TYPE, ...extraHeaders }, chunks: events, turn }
}

/** Little-endian float32 bytes in base64: OpenAI's `encoding_format: "base64"`. */
function base64Floats(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4)
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4)
  return bytes.toString('base64')
}

function embeddingsResponse(route: Route, request: WireRequest, context: WireContext): WireResponse {
  const body = isObject(request.body) ? request.body : undefined
  const reject = (message: string, param: string | null = null) =>
    openaiError(400, message, 'invalid_request_error', null, param ?? undefined)
  if (!body) return reject('We could not parse the JSON body of your request.')
  const name = route.name ?? body.model
  if (route.name === undefined && (typeof body.model !== 'string' || body.model === '')) {
    return reject('you must provide a model parameter')
  }
  if (!findModel(context.models, name)) return modelMissing(route.flavour, String(name))
  const input = body.input
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined
  if (!texts || texts.length === 0 || texts.some((t) => typeof t !== 'string')) {
    return reject(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      'input',
    )
  }
  if (texts.some((t) => t === '')) return reject("'$.input' is invalid: an input is empty.", 'input')
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined
  const base64 = body.encoding_format === 'base64'
  let tokens = 0
  const data = (texts as string[]).map((text, index) => {
    tokens += Math.max(1, Math.ceil(text.length / 4))
    let vector = context.embed(text)
    if (dimensions !== undefined && dimensions < vector.length) {
      const cut = vector.slice(0, dimensions)
      const norm = Math.hypot(...cut) || 1
      vector = cut.map((v) => v / norm)
    }
    return { object: 'embedding', index, embedding: base64 ? base64Floats(vector) : vector }
  })
  return json(200, {
    object: 'list',
    data,
    model: String(name),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
}

export const openaiWire: WireRenderer = {
  handle(request, context) {
    const url = new URL(request.path, 'http://scripted.invalid')
    const found = route(request.method.toUpperCase(), url.pathname)
    if (!found) return undefined
    if (found.needsVersion && !url.searchParams.get('api-version')) {
      return azureError(404, '404', 'Resource not found')
    }
    const key = credentialOf(request)
    if (key?.includes('invalid')) return unauthorized(found.flavour, key)
    switch (found.operation) {
      case 'chat':
        return chatResponse(found, request, context)
      case 'embeddings':
        return embeddingsResponse(found, request, context)
      case 'models':
        return json(200, { object: 'list', data: context.models.map((m) => modelObject(m, found.flavour)) })
      case 'model': {
        const model = findModel(context.models, found.name)
        return model ? json(200, modelObject(model, 'openai')) : modelMissing('openai', found.name ?? '')
      }
    }
  },
}
