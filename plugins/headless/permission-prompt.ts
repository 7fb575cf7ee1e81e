/**
 * `--permission-prompt-tool mcp__server__tool`: a headless run's permission asks go to an MCP tool
 * instead of being denied, as in Claude Code. The tool gets `{tool_name, input, tool_use_id}` and
 * answers with one text part holding `{"behavior":"allow","updatedInput":{...}}` or
 * `{"behavior":"deny","message":"..."}`. Anything else — an error, no tool, text that is not such
 * JSON, an input it changed (tau cannot run a rewritten input from here) — denies, with the reason.
 *
 * AskUserQuestion's questions go to the same tool, as Claude Code's SDK hands them to `canUseTool`:
 * `tool_name: "AskUserQuestion"`, `input: {questions}`; the answers come back in
 * `{"behavior":"allow","updatedInput":{"questions":[...],"answers":{"<question>":"<label>"}}}`.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Logger } from '../../kernel/index.js'
import type { PermissionAnswer, PermissionRequest } from '../agent/index.js'
import type { Environment } from '../sandbox/index.js'
import type {
  ToolContext,
  ToolRegistry,
  UserQuestion,
  UserQuestionsAnswer,
  UserQuestionsRequest,
} from '../tools/index.js'
import { toOutput } from '../tools/index.js'

export interface PromptToolDeps {
  readonly name: string
  readonly registry: ToolRegistry
  /** The run session's environment (the tool context needs one; MCP tools do not touch it). */
  readonly env: Environment
  readonly logger: Logger
}

const deny = (reason: string): PermissionAnswer => ({ behavior: 'deny', reason })

interface Ask {
  readonly toolName: string
  readonly input: unknown
  readonly toolCallId: string
  readonly sessionId: string
  readonly signal: AbortSignal
}

/** Calls the MCP tool with Claude Code's `{tool_name, input, tool_use_id}`: its text, or why not. */
async function callPromptTool(
  deps: PromptToolDeps,
  ask: Ask,
): Promise<{ readonly text: string } | { readonly failed: string }> {
  const tool = deps.registry.get(deps.name)
  if (!tool) return { failed: `the permission prompt tool ${deps.name} is not available` }
  const input = { tool_name: ask.toolName, input: ask.input, tool_use_id: ask.toolCallId }
  const checked = await tool.input['~standard'].validate(input)
  if (checked.issues) {
    return { failed: `the permission prompt tool ${deps.name} does not take {tool_name, input, tool_use_id}` }
  }
  const state = new Map<string, unknown>()
  const context: ToolContext = {
    signal: ask.signal,
    env: deps.env,
    sessionId: ask.sessionId,
    callId: `permission-${ask.toolCallId}`,
    state: {
      get: <T>(key: string) => state.get(key) as T | undefined,
      set: (key, value) => state.set(key, value),
    },
    progress: () => {},
    logger: deps.logger,
    model: { vision: false },
  }
  try {
    const output = toOutput(await tool.execute(checked.value, context))
    const text = output.content
      .map((part) => (part.type === 'text' ? part.text : ''))
      .join('')
      .trim()
    if (output.isError) return { failed: `the permission prompt tool ${deps.name} failed: ${text}` }
    return { text }
  } catch (error) {
    return { failed: `the permission prompt tool ${deps.name} failed: ${(error as Error).message}` }
  }
}

/** An askPermission that asks the MCP tool. */
export function promptToolAsk(
  deps: PromptToolDeps,
): (request: PermissionRequest) => Promise<PermissionAnswer> {
  return async (request) => {
    const called = await callPromptTool(deps, request)
    if ('failed' in called) return deny(`${called.failed}, so the call is denied`)
    return readAnswer(called.text, request.input, deps.name)
  }
}

/** An askQuestions (AskUserQuestion) that asks the MCP tool, as Claude Code's canUseTool is asked. */
export function promptToolQuestions(
  deps: PromptToolDeps,
): (request: UserQuestionsRequest) => Promise<UserQuestionsAnswer> {
  return async (request) => {
    const called = await callPromptTool(deps, {
      toolName: 'AskUserQuestion',
      input: { questions: request.questions },
      toolCallId: request.toolCallId,
      sessionId: request.sessionId,
      signal: request.signal,
    })
    if ('failed' in called) return { declined: true, reason: called.failed }
    return readQuestionsAnswer(called.text, request.questions, deps.name)
  }
}

/**
 * The tool's JSON answer to AskUserQuestion (fail closed): allow with `updatedInput.answers`, each
 * a question's text to a string (an option's label, labels joined with ", ", or free text). Answers
 * to questions not asked are dropped; the questions stay the model's (a changed list is ignored).
 */
export function readQuestionsAnswer(
  text: string,
  questions: readonly UserQuestion[],
  name: string,
): UserQuestionsAnswer {
  const declined = (reason: string): UserQuestionsAnswer => ({ declined: true, reason })
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return declined(`the permission prompt tool ${name} answered with text that is not JSON`)
  }
  const answer = (data ?? {}) as { behavior?: unknown; message?: unknown; updatedInput?: unknown }
  if (answer.behavior === 'deny') {
    return declined(
      typeof answer.message === 'string' && answer.message !== ''
        ? answer.message
        : `the permission prompt tool ${name} denied the call`,
    )
  }
  if (answer.behavior !== 'allow') {
    return declined(`the permission prompt tool ${name} answered neither allow nor deny`)
  }
  const updated = answer.updatedInput
  const given =
    updated !== null && typeof updated === 'object' ? (updated as { answers?: unknown }).answers : undefined
  if (given === undefined) return { answers: {} }
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return declined(
      `the permission prompt tool ${name} answered with updatedInput.answers that is not an object of question text to answer`,
    )
  }
  const answers: Record<string, string> = {}
  for (const q of questions) {
    if (!Object.hasOwn(given, q.question)) continue
    const value = (given as Record<string, unknown>)[q.question]
    if (typeof value !== 'string') {
      return declined(
        `the permission prompt tool ${name} answered "${q.question}" with a ${value === null ? 'null' : typeof value}, not a string`,
      )
    }
    answers[q.question] = value
  }
  return { answers }
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
