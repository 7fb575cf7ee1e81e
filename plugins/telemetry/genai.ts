/**
 * The mapping from tau's agent loop to the OpenTelemetry GenAI semantic conventions, in one file:
 * the conventions are still marked "development", so when they change only this file does.
 * Span names: `invoke_workflow {workflow}`, `invoke_agent {agent}`, `chat {model}`, `execute_tool {tool}`. Contents (prompts,
 * answers, tool arguments and results) are attributes only when the user opted in.
 */
import type { Attributes } from '@opentelemetry/api'
import type { FinishReason, Message, ModelRequest, ModelResponse, Usage } from '../../kernel/index.js'

export const OPERATION = {
  invokeWorkflow: 'invoke_workflow',
  invokeAgent: 'invoke_agent',
  chat: 'chat',
  executeTool: 'execute_tool',
} as const

/** tau's provider names as the conventions' `gen_ai.provider.name` well-known values. */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  azure: 'azure.ai.openai',
  anthropic: 'anthropic',
  ollama: 'ollama',
}

export function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider
}

/** `provider:model` split at the first colon (a model name may hold more: `ollama:qwen3:8b`). */
export function splitModel(ref: string): { provider: string; model: string } {
  const at = ref.indexOf(':')
  return at <= 0 ? { provider: ref, model: ref } : { provider: ref.slice(0, at), model: ref.slice(at + 1) }
}

export function workflowSpanName(workflow: string): string {
  return `${OPERATION.invokeWorkflow} ${workflow}`
}

/** A workflow run; the conventions name the workflow with `gen_ai.agent.name` (it replaced `gen_ai.workflow.name`). */
export function workflowAttributes(options: { workflow: string; runId: string; step?: string }): Attributes {
  return {
    'gen_ai.operation.name': OPERATION.invokeWorkflow,
    'gen_ai.agent.name': options.workflow,
    'tau.workflow.run_id': options.runId,
    ...(options.step ? { 'tau.workflow.step': options.step } : {}),
  }
}

export function agentSpanName(agentName: string): string {
  return `${OPERATION.invokeAgent} ${agentName}`
}

export function agentAttributes(options: {
  agentName: string
  sessionId: string
  runId: string
  model: string
}): Attributes {
  const { provider, model } = splitModel(options.model)
  return {
    'gen_ai.operation.name': OPERATION.invokeAgent,
    'gen_ai.agent.name': options.agentName,
    'gen_ai.agent.id': options.runId,
    'gen_ai.conversation.id': options.sessionId,
    'gen_ai.provider.name': providerName(provider),
    'gen_ai.request.model': model,
  }
}

export function usageAttributes(usage: Usage): Attributes {
  const out: Attributes = {
    'gen_ai.usage.input_tokens': usage.inputTokens,
    'gen_ai.usage.output_tokens': usage.outputTokens,
  }
  // tau's inputTokens already counts cached input, as the conventions ask.
  if (usage.cacheReadTokens !== undefined) out['gen_ai.usage.cache_read.input_tokens'] = usage.cacheReadTokens
  if (usage.cacheWriteTokens !== undefined)
    out['gen_ai.usage.cache_creation.input_tokens'] = usage.cacheWriteTokens
  if (usage.reasoningTokens !== undefined) out['gen_ai.usage.reasoning.output_tokens'] = usage.reasoningTokens
  return out
}

export function chatSpanName(request: ModelRequest): string {
  return `${OPERATION.chat} ${request.model.model}`
}

export function chatAttributes(request: ModelRequest, sessionId: string, content: boolean): Attributes {
  const out: Attributes = {
    'gen_ai.operation.name': OPERATION.chat,
    'gen_ai.provider.name': providerName(request.model.provider),
    'gen_ai.request.model': request.model.model,
    'gen_ai.conversation.id': sessionId,
  }
  if (request.maxOutputTokens !== undefined) out['gen_ai.request.max_tokens'] = request.maxOutputTokens
  if (request.temperature !== undefined) out['gen_ai.request.temperature'] = request.temperature
  if (request.topP !== undefined) out['gen_ai.request.top_p'] = request.topP
  if (request.stop !== undefined) out['gen_ai.request.stop_sequences'] = [...request.stop]
  if (content) {
    const system = request.messages.filter((m) => m.role === 'system')
    const rest = request.messages.filter((m) => m.role !== 'system')
    if (system.length > 0) out['gen_ai.system_instructions'] = JSON.stringify(system.flatMap(partsOf))
    out['gen_ai.input.messages'] = JSON.stringify(rest.map(messageOf))
  }
  return out
}

/** The conventions' finish reasons (OpenAI's spelling) for tau's. */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  stop: 'stop',
  'tool-calls': 'tool_call',
  length: 'length',
  'content-filter': 'content_filter',
  error: 'error',
}

export function finishReason(reason: FinishReason): string {
  return FINISH_REASONS[reason] ?? reason
}

export function responseAttributes(response: ModelResponse, content: boolean): Attributes {
  const out: Attributes = {
    'gen_ai.response.model': response.model.model,
    'gen_ai.response.finish_reasons': [finishReason(response.finishReason)],
    ...usageAttributes(response.usage),
  }
  if (content) {
    out['gen_ai.output.messages'] = JSON.stringify([
      { ...messageOf(response.message), finish_reason: finishReason(response.finishReason) },
    ])
  }
  return out
}

export function toolSpanName(name: string): string {
  return `${OPERATION.executeTool} ${name}`
}

export function toolAttributes(options: {
  name: string
  id: string
  input: unknown
  content: boolean
}): Attributes {
  const out: Attributes = {
    'gen_ai.operation.name': OPERATION.executeTool,
    'gen_ai.tool.name': options.name,
    'gen_ai.tool.call.id': options.id,
    'gen_ai.tool.type': 'function',
  }
  if (options.content) out['gen_ai.tool.call.arguments'] = JSON.stringify(options.input ?? null)
  return out
}

export function toolResultAttributes(text: string, content: boolean): Attributes {
  return content ? { 'gen_ai.tool.call.result': text } : {}
}

/** `error.type`: the catalogue code of what failed. */
export function errorAttributes(code: string): Attributes {
  return { 'error.type': code }
}

type Part =
  | { type: 'text'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; response: string }

function partsOf(message: Message): Part[] {
  if (typeof message.content === 'string') return [{ type: 'text', content: message.content }]
  const parts: Part[] = []
  for (const part of message.content) {
    if (part.type === 'text') parts.push({ type: 'text', content: part.text })
    else if (part.type === 'reasoning') parts.push({ type: 'reasoning', content: part.text })
    else if (part.type === 'tool-call')
      parts.push({ type: 'tool_call', id: part.id, name: part.name, arguments: part.input })
    else if (part.type === 'tool-result') {
      const response = part.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('')
      parts.push({ type: 'tool_call_response', id: part.toolCallId, response })
    } else parts.push({ type: 'text', content: `[${part.type}]` })
  }
  return parts
}

function messageOf(message: Message): { role: string; parts: Part[] } {
  return { role: message.role, parts: partsOf(message) }
}
