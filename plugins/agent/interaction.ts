/**
 * `UserInteraction`: everything tau asks the person behind a session — a tool call's permission,
 * a plan's approval, an MCP server's form or URL (elicitation), a server's sampling request, an
 * OAuth login. One per agent session, given by the frontend that opens it (the terminal's
 * questions, headless policy answers, an HTTP server's pending questions, an editor's dialogs),
 * so two sessions in one process never get each other's questions.
 *
 * It is a session option rather than a kernel session-scoped service: a session-scoped service is
 * built from the scope's id and cwd, and cannot know which frontend opened the session.
 * Every method is optional: what a frontend leaves out gets the fail-closed answer, with a reason.
 */
import type { PermissionMode } from '../permissions/index.js'
import type { UserQuestionsAnswer, UserQuestionsRequest } from '../tools/index.js'
import { AbortedError, untilAborted } from './abort.js'
import type { PermissionAnswer, PermissionRequest } from './runtime.js'

// ---- plan approval ---------------------------------------------------------------------------

/** ExitPlanMode asks: may the model carry out this plan? */
export interface PlanApprovalRequest {
  readonly sessionId: string
  readonly toolCallId: string
  /** The plan, as markdown. */
  readonly plan: string
  /** Where it was saved (absolute path). */
  readonly file: string
  /** Aborted when the run is: stop asking. */
  readonly signal: AbortSignal
}

/**
 * `approve`: carry it out, in `mode` (`acceptEdits` or `default`). `revise`: keep planning, with the
 * user's comments for the model. `reject`: keep planning, nothing to add (`reason` says why, for the
 * model: nobody could be asked, the user declined).
 */
export type PlanApproval =
  | { readonly decision: 'approve'; readonly mode: Extract<PermissionMode, 'acceptEdits' | 'default'> }
  | { readonly decision: 'revise'; readonly comments: string }
  | { readonly decision: 'reject'; readonly reason?: string }

// ---- MCP: elicitation, sampling, authorization ----------------------------------------------

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

/** A server asks tau's model for a completion (`sampling/createMessage`); the user decides. */
export interface SamplingConfirmation {
  readonly server: string
  /** The model that would answer (the config's `model`, a ModelRef). */
  readonly model: string
  readonly systemPrompt?: string
  /** The conversation the server sends, as text (images and audio as `[image mime]` notes). */
  readonly messages: ReadonlyArray<{ readonly role: 'user' | 'assistant'; readonly text: string }>
  readonly maxTokens: number
  /** What the server says it wants included (`none`, `thisServer`, `allServers`); tau includes nothing. */
  readonly includeContext?: string
}

/**
 * `allow-always`: allow this server's sampling requests for the rest of the process without
 * asking. `deny`: the server gets an error (with `reason` when given).
 */
export type SamplingDecision =
  | { readonly action: 'allow' | 'allow-always' }
  | { readonly action: 'deny'; readonly reason?: string }

/** A server needs an OAuth login: the URL to show (or open). */
export interface AuthorizationRequest {
  readonly server: string
  readonly url: string
}

// ---- the contract ----------------------------------------------------------------------------

/**
 * What a frontend implements. Each method asks the user and resolves with the answer; a
 * request's `signal` is aborted when the run is, or the server cancels: stop asking then.
 */
export interface UserInteraction {
  /** A tool call needs approval. Left out: denied. */
  askPermission?(request: PermissionRequest): Promise<PermissionAnswer>
  /** ExitPlanMode's plan. Left out: rejected (the session stays in plan mode). */
  approvePlan?(request: PlanApprovalRequest): Promise<PlanApproval>
  /** An MCP server's form or URL. Left out: declined. */
  elicit?(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer>
  /** May tau's model answer an MCP server's sampling request? Left out: denied. */
  confirmSampling?(request: SamplingConfirmation, signal: AbortSignal): Promise<SamplingDecision>
  /**
   * Shows an OAuth authorization URL; resolves once shown (the code comes back on tau's loopback
   * callback). Left out: no login, the call fails saying to run `tau mcp login`.
   */
  authorize?(request: AuthorizationRequest, signal: AbortSignal): Promise<void>
  /** AskUserQuestion's questions. Left out: declined (nobody to ask), and the model is told so. */
  askQuestions?(request: UserQuestionsRequest): Promise<UserQuestionsAnswer>
}

/** A session's interaction as the loop and plugins use it: every method there, one question at a time. */
export interface SessionInteraction {
  /** False when the frontend asks nobody (headless): every answer is the fail-closed one. */
  readonly interactive: boolean
  /** True when the frontend answers permission asks (else the loop denies them as headless). */
  readonly asksPermission: boolean
  askPermission(request: PermissionRequest): Promise<PermissionAnswer>
  approvePlan(request: PlanApprovalRequest): Promise<PlanApproval>
  elicit(request: ElicitationRequest, signal: AbortSignal): Promise<ElicitationAnswer>
  confirmSampling(request: SamplingConfirmation, signal: AbortSignal): Promise<SamplingDecision>
  /** False when the frontend cannot show a login. */
  readonly canAuthorize: boolean
  authorize(request: AuthorizationRequest, signal: AbortSignal): Promise<void>
  askQuestions(request: UserQuestionsRequest): Promise<UserQuestionsAnswer>
}

/** Why a question got the fail-closed answer. */
export const NOBODY_TO_ASK = 'there is no user to ask (headless)'

/**
 * Asks, unless `signal` is already aborted; resolves with the answer, or with `fallback()` once
 * `signal` aborts (a question nobody answers any more gets the fail-closed answer).
 */
async function answerUntilAborted<T>(
  ask: () => Promise<T>,
  signal: AbortSignal,
  fallback: () => T,
): Promise<T> {
  if (signal.aborted) return fallback()
  try {
    return await untilAborted(ask(), signal)
  } catch (error) {
    if (error instanceof AbortedError && signal.aborted) return fallback()
    throw error
  }
}

/**
 * The session's view of a frontend's interaction: methods left out answer fail-closed, and
 * questions are asked one at a time through `queue` (the session's own question queue, shared
 * with its subagents' asks).
 */
export function sessionInteraction(
  frontend: UserInteraction | undefined,
  queue: <T>(ask: () => Promise<T>) => Promise<T>,
): SessionInteraction {
  const f = frontend ?? {}
  return {
    interactive: Object.values(f).some((m) => typeof m === 'function'),
    asksPermission: typeof f.askPermission === 'function',
    askPermission: (request) =>
      f.askPermission
        ? queue(() =>
            answerUntilAborted(
              () => f.askPermission!(request),
              request.signal,
              () => 'deny' as PermissionAnswer,
            ),
          )
        : Promise.resolve({ behavior: 'deny', reason: NOBODY_TO_ASK }),
    approvePlan: (request) =>
      f.approvePlan
        ? queue(() =>
            answerUntilAborted(
              () => f.approvePlan!(request),
              request.signal,
              (): PlanApproval => ({ decision: 'reject', reason: 'the run was interrupted' }),
            ),
          )
        : Promise.resolve({ decision: 'reject', reason: NOBODY_TO_ASK }),
    elicit: (request, signal) =>
      f.elicit
        ? queue(() =>
            answerUntilAborted(
              () => f.elicit!(request, signal),
              signal,
              (): ElicitationAnswer => ({ action: 'cancel' }),
            ),
          )
        : Promise.resolve({ action: 'decline' }),
    confirmSampling: (request, signal) =>
      f.confirmSampling
        ? queue(() =>
            answerUntilAborted(
              () => f.confirmSampling!(request, signal),
              signal,
              (): SamplingDecision => ({ action: 'deny', reason: 'the request was cancelled' }),
            ),
          )
        : Promise.resolve({ action: 'deny', reason: NOBODY_TO_ASK }),
    askQuestions: (request) =>
      f.askQuestions
        ? queue(() =>
            answerUntilAborted(
              () => f.askQuestions!(request),
              request.signal,
              (): UserQuestionsAnswer => ({ declined: true, reason: 'the run was interrupted' }),
            ),
          )
        : Promise.resolve({ declined: true, reason: NOBODY_TO_ASK }),
    canAuthorize: typeof f.authorize === 'function',
    authorize: (request, signal) =>
      f.authorize
        ? f.authorize(request, signal)
        : Promise.reject(new Error(`MCP server '${request.server}' needs a login and ${NOBODY_TO_ASK}`)),
  }
}

/** `askPermission` (the older session option) as a UserInteraction. */
export function interactionOf(options: {
  readonly interaction?: UserInteraction
  readonly askPermission?: UserInteraction['askPermission']
}): UserInteraction | undefined {
  if (options.askPermission === undefined) return options.interaction
  // An explicit askPermission option wins over the interaction's (it is the narrower choice).
  return { ...(options.interaction ?? {}), askPermission: options.askPermission }
}
