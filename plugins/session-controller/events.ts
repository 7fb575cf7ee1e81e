/**
 * What a SessionController tells its frontend: the agent's events of each run, the output of
 * session commands, pending questions (when the controller asks them itself), and changes of the
 * session, the mode and whether it is busy. A terminal renders them; an HTTP server sends them
 * over SSE; an editor adapter maps them to its protocol.
 */
import type {
  AgentEvent,
  ElicitationAnswer,
  ElicitationRequest,
  PermissionAnswer,
  PermissionRequest,
  PlanApproval,
  PlanApprovalRequest,
  SamplingConfirmation,
  SamplingDecision,
} from '../agent/index.js'
import type { UserQuestionsAnswer, UserQuestionsRequest } from '../tools/index.js'

/** How a line of command output reads: plain, a success, a warning, an error, a quiet note. */
export type Tone = 'info' | 'success' | 'warn' | 'error' | 'dim'

/** A question waiting for an answer by id (`SessionController.answer(id, ...)`). */
export type PendingQuestion =
  | {
      readonly id: string
      readonly kind: 'permission'
      readonly request: Omit<PermissionRequest, 'signal'>
    }
  | { readonly id: string; readonly kind: 'plan'; readonly request: Omit<PlanApprovalRequest, 'signal'> }
  | { readonly id: string; readonly kind: 'elicitation'; readonly request: ElicitationRequest }
  | { readonly id: string; readonly kind: 'sampling'; readonly request: SamplingConfirmation }
  | {
      readonly id: string
      readonly kind: 'questions'
      readonly request: Omit<UserQuestionsRequest, 'signal'>
    }
  | {
      readonly id: string
      readonly kind: 'choice'
      readonly title: string
      readonly options: ReadonlyArray<{ readonly label: string; readonly value: string }>
    }

/** The answer a pending question of each kind takes. */
export interface AnswerOf {
  readonly permission: PermissionAnswer
  readonly plan: PlanApproval
  readonly elicitation: ElicitationAnswer
  readonly sampling: SamplingDecision
  /** AskUserQuestion's answers by question text, or declined. */
  readonly questions: UserQuestionsAnswer
  /** The value picked, or undefined to cancel. */
  readonly choice: string | undefined
}

export type ControllerEvent =
  /** A line the user sent is handled now (it waited in the queue until this). */
  | { readonly type: 'input'; readonly text: string }
  /** An event of the session's current run (its `sessionId` is the session's). */
  | { readonly type: 'agent'; readonly event: AgentEvent }
  /** A run starts: `prompt` is what the model gets (a command's expansion, say). */
  | { readonly type: 'run-start'; readonly prompt: string }
  /** The run ended (also when it failed before its `result`: `error` says why). */
  | { readonly type: 'run-end'; readonly error?: string; readonly code?: string }
  /** Output of a session command or of the controller itself. */
  | {
      readonly type: 'output'
      readonly text: string
      readonly tone: Tone
      /** An error's catalogue code, when it has one. */
      readonly code?: string
    }
  /** The session was replaced (`/clear`, `/model`, `/resume`): later events are the new one's. */
  | { readonly type: 'session'; readonly sessionId: string; readonly reason: string }
  /** The permission mode changed (a command, the frontend, an approved plan). */
  | { readonly type: 'mode'; readonly mode: string }
  /** A question waits for `answer(id, ...)` (the controller's own questions only). */
  | { readonly type: 'question'; readonly question: PendingQuestion }
  /** A pending question was answered or withdrawn (the run was aborted). */
  | { readonly type: 'question-closed'; readonly id: string }
  /** Nothing runs now and nothing is queued. */
  | { readonly type: 'idle' }
  /** `/exit`: the frontend should leave. */
  | { readonly type: 'exit' }
