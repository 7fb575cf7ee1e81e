/**
 * `--permission-prompt-tool mcp__server__tool`: a headless run's permission asks go to an MCP tool
 * instead of being denied, as in Claude Code. The tool gets `{tool_name, input, tool_use_id}` and
 * answers with one text part holding `{"behavior":"allow","updatedInput":{...}}` or
 * `{"behavior":"deny","message":"..."}`. Anything else — an error, no tool, text that is not such
 * JSON, an input it changed (tau cannot run a rewritten input from here) — denies, with the reason.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Logger } from '../../kernel/index.js'
import type { PermissionAnswer, PermissionRequest } from '../agent/index.js'
import type { Environment } from '../sandbox/index.js'
import type { ToolContext, ToolRegistry } from '../tools/index.js'
import { toOutput } from '../tools/index.js'

export interface PromptToolDeps {
  readonly name: string
  readonly registry: ToolRegistry
  /** The run session's environment (the tool context needs one; MCP tools do not touch it). */
  readonly env: Environment
  readonly logger: Logger
}

const deny = (reason: string): PermissionAnswer => ({ behavior: 'deny', reason })

/** An askPermission that asks the MCP tool. */
export function promptToolAsk(
  deps: PromptToolDeps,
): (request: PermissionRequest) => Promise<PermissionAnswer> {
  return async (request) => {
    const tool = deps.registry.get(deps.name)
    if (!tool) return deny(`the permission prompt tool ${deps.name} is not available, so the call is denied`)
    const input = { tool_name: request.toolName, input: request.input, tool_use_id: request.toolCallId }
    const checked = await tool.input['~standard'].validate(input)
    if (checked.issues) {
      return deny(`the permission prompt tool ${deps.name} does not take {tool_name, input, tool_use_id}`)
    }
    const state = new Map<string, unknown>()
    const context: ToolContext = {
      signal: request.signal,
      env: deps.env,
      sessionId: request.sessionId,
      callId: `permission-${request.toolCallId}`,
      state: {
        get: <T>(key: string) => state.get(key) as T | undefined,
        set: (key, value) => state.set(key, value),
      },
      progress: () => {},
      logger: deps.logger,
      model: { vision: false },
    }
    let text: string
    try {
      const output = toOutput(await tool.execute(checked.value, context))
      text = output.content
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join('')
        .trim()
      if (output.isError) return deny(`the permission prompt tool ${deps.name} failed: ${text}`)
    } catch (error) {
      return deny(`the permission prompt tool ${deps.name} failed: ${(error as Error).message}`)
    }
    return readAnswer(text, request.input, deps.name)
  }
}

/** The tool's JSON answer as a permission answer (fail closed). */
export function readAnswer(text: string, input: unknown, name: string): PermissionAnswer {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return deny(
      `the permission prompt tool ${name} answered with text that is not JSON, so the call is denied`,
    )
  }
  const answer = (data ?? {}) as { behavior?: unknown; message?: unknown; updatedInput?: unknown }
  if (answer.behavior === 'deny') {
    return deny(
      typeof answer.message === 'string' && answer.message !== ''
        ? answer.message
        : `the permission prompt tool ${name} denied the call`,
    )
  }
  if (answer.behavior !== 'allow') {
    return deny(`the permission prompt tool ${name} answered neither allow nor deny, so the call is denied`)
  }
  if (answer.updatedInput !== undefined && !isDeepStrictEqual(answer.updatedInput, input)) {
    return deny(
      `the permission prompt tool ${name} changed the call's input, which tau does not apply, so the call is denied`,
    )
  }
  return 'allow'
}
