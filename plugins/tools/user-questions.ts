/**
 * The questions AskUserQuestion puts to the session's user, in Claude Code's shape, and the
 * answer a frontend gives. The agent's UserInteraction (`askQuestions`) takes these types, so
 * every frontend (terminal, serve, ACP) answers the same value.
 */

export interface UserQuestionOption {
  /** What the user picks (1-5 words). */
  readonly label: string
  /** What picking it means. */
  readonly description: string
}

export interface UserQuestion {
  /** The whole question, ending in a question mark. */
  readonly question: string
  /** A very short label for the question (a chip or tab: "Auth method"). */
  readonly header: string
  /** 2 to 4 choices; the user may always type an answer of their own instead. */
  readonly options: readonly UserQuestionOption[]
  /** True: several options may be picked (their labels are joined with ", "). */
  readonly multiSelect: boolean
}

/** What a frontend is asked. */
export interface UserQuestionsRequest {
  readonly sessionId: string
  readonly toolCallId: string
  readonly questions: readonly UserQuestion[]
  /** Aborted when the run is: stop asking. */
  readonly signal: AbortSignal
}

/**
 * The user's answers, keyed by the question's text (Claude Code's `answers`): an option's label,
 * labels joined with ", " for a multi-select, or the user's own text. A question left out was
 * not answered. `declined`: the user did not answer (or nobody could be asked: `reason` says).
 */
export type UserQuestionsAnswer =
  | { readonly answers: Readonly<Record<string, string>> }
  | { readonly declined: true; readonly reason?: string }

/** Puts questions to the user through the session's interaction (ToolContext.askQuestions). */
export type AskQuestions = (questions: readonly UserQuestion[]) => Promise<UserQuestionsAnswer>
