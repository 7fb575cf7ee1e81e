/**
 * The terminal's questions: one at a time in the live area (a choice with the arrow keys, a
 * number or a letter; or a line of text), or as numbered lines without a TTY. They make the
 * terminal's side of the session's UserInteraction: permissions, plan approval, MCP servers'
 * questions (mcp-questions.ts) and the SessionController's pick-one-of (/resume).
 */
import { relative } from 'node:path'
import type {
  PermissionAnswer,
  PermissionRequest,
  PlanApproval,
  PlanApprovalRequest,
} from '../agent/index.js'
import type { ControllerFrontend } from '../session-controller/index.js'
import type { UserQuestion, UserQuestionsAnswer, UserQuestionsRequest } from '../tools/index.js'
import { Choice, type ChoiceAction, type ChoiceOption } from './choice.js'
import { Editor } from './editor.js'
import { MarkdownStream } from './markdown.js'
import { type Asker, mcpQuestions } from './mcp-questions.js'
import { toolStartRow, truncate } from './render.js'
import { type Row, span, wrap } from './text.js'

export type Question =
  | {
      readonly kind: 'choice'
      readonly choice: Choice<unknown>
      readonly resolve: (action: ChoiceAction<unknown> & { rest?: string }) => void
    }
  | {
      readonly kind: 'text'
      readonly label: string
      readonly editor: Editor
      readonly resolve: (text: string | undefined) => void
    }

/** What the questions need of the terminal. */
export interface QuestionHost {
  readonly columns: number
  readonly raw: boolean
  readonly color: boolean
  readonly cwd: string
  print(rows: readonly Row[]): void
  say(text: string, style?: Parameters<typeof span>[1]): void
  refresh(): void
  /** Esc or Ctrl-C at a question: stop the run to wait for the user. */
  interruptRun(): void
}

export class TerminalQuestions {
  /** The question open now, drawn in the live area. */
  question: Question | undefined
  private lock: Promise<unknown> = Promise.resolve()

  constructor(private readonly host: QuestionHost) {}

  /** Runs `ask` once no other question is open: a permission, an MCP server's form, a plan. */
  exclusive<T>(ask: () => Promise<T>): Promise<T> {
    const turn = this.lock.then(ask, ask)
    this.lock = turn.catch(() => undefined)
    return turn
  }

  get asker(): Asker {
    const questions = this
    return {
      get columns() {
        return questions.host.columns
      },
      choose: (title, options, signal, initial) => this.choose(title, options, signal, initial),
      askText: (label, signal) => this.askText(label, signal),
      say: (text) => this.host.say(text),
      exclusive: (ask) => this.exclusive(ask),
    }
  }

  /** The terminal's UserInteraction (and the controller's pick-one-of). */
  frontend(): ControllerFrontend {
    return {
      ...mcpQuestions(this.asker),
      askPermission: (request) => this.exclusive(() => this.permission(request)),
      approvePlan: (request) => this.exclusive(() => this.plan(request)),
      askQuestions: (request) => this.exclusive(() => this.questions(request)),
      choose: (title, options, signal) =>
        this.exclusive(async () => {
          const picked = await this.choose<string>(
            [[span(title, { bold: true })]],
            options.map((o) => ({ label: truncate(o.label, this.host.columns - 8), value: o.value })),
            signal,
          )
          return picked.type === 'picked' ? picked.value : undefined
        }),
    }
  }

  /** Asks one of a few answers; on a TTY in the live area, else as numbered lines. */
  choose<T>(
    title: Row[],
    options: ChoiceOption<T>[],
    signal?: AbortSignal,
    initial = 0,
  ): Promise<(ChoiceAction<T> & { rest?: string }) | { type: 'aborted' }> {
    const choice = new Choice<T>(title, options, initial)
    return new Promise((resolve) => {
      const done = (action: (ChoiceAction<T> & { rest?: string }) | { type: 'aborted' }) => {
        signal?.removeEventListener('abort', onAbort)
        if (this.question?.kind === 'choice' && this.question.choice === choice) this.question = undefined
        resolve(action)
        this.host.refresh()
      }
      const onAbort = () => done({ type: 'aborted' })
      if (signal?.aborted) return done({ type: 'aborted' })
      signal?.addEventListener('abort', onAbort, { once: true })
      this.question = {
        kind: 'choice',
        choice: choice as Choice<unknown>,
        resolve: (action) => done(action as ChoiceAction<T> & { rest?: string }),
      }
      if (!this.host.raw) {
        this.host.print([
          ...title,
          ...options.map((o, i): Row => [span(`  ${i + 1}) ${o.label}`)]),
          [span(`choose [${options.map((_, i) => i + 1).join('/')}]:`)],
        ])
      }
      this.host.refresh()
    })
  }

  /** Asks for a line of text; undefined when skipped (Esc, Ctrl-C) or aborted. */
  askText(label: string, signal?: AbortSignal): Promise<string | undefined> {
    const editor = new Editor()
    return new Promise((resolve) => {
      const done = (text: string | undefined) => {
        signal?.removeEventListener('abort', onAbort)
        if (this.question?.kind === 'text' && this.question.editor === editor) this.question = undefined
        resolve(text)
        this.host.refresh()
      }
      const onAbort = () => done(undefined)
      if (signal?.aborted) return done(undefined)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.question = { kind: 'text', label, editor, resolve: done }
      if (!this.host.raw) this.host.say(label)
      this.host.refresh()
    })
  }

  /** Allow once / always / deny with a reason for the model. */
  private async permission(request: PermissionRequest): Promise<PermissionAnswer> {
    const width = this.host.columns
    const title: Row[] = [
      [],
      [
        span(`Allow ${request.toolName}?`, { bold: true, color: 'yellow' }),
        ...(request.agentType !== undefined
          ? [span(` (asked by the ${request.agentType} subagent)`, { dim: true })]
          : []),
      ],
      [span('  '), ...toolStartRow(request.toolName, request.input, width - 2)],
      ...wrap([span(request.reason, { dim: true })], width, { first: [span('  ')] }),
    ]
    const answer = await this.choose<'allow' | 'always' | 'deny'>(
      title,
      [
        { label: 'Yes', letter: 'y', value: 'allow' },
        {
          label: `Yes, and don't ask again for ${truncate(request.suggestedRule, 40)}`,
          letter: 'a',
          value: 'always',
        },
        { label: 'No, and tell the model what to do instead', letter: 'n', value: 'deny' },
      ],
      request.signal,
    )
    if (answer.type === 'aborted') return 'deny'
    if (answer.type === 'interrupt' || answer.type === 'cancel') {
      // Esc or Ctrl-C at the question: no, and stop here to wait for the user (as Claude Code).
      this.host.interruptRun()
      return { behavior: 'deny', reason: 'The user interrupted instead of answering.' }
    }
    if (answer.type !== 'picked') return 'deny'
    if (answer.value === 'allow') return 'allow'
    if (answer.value === 'always') return { behavior: 'allow-always', rule: request.suggestedRule }
    let reason = answer.rest ?? ''
    if (reason === '')
      reason =
        (
          await this.askText(
            this.host.raw
              ? 'What should the model do instead? (Enter to just deny)'
              : 'reason for the model (optional):',
            request.signal,
          )
        )?.trim() ?? ''
    return reason === '' ? 'deny' : { behavior: 'deny', reason }
  }

  /** AskUserQuestion: each question in turn, a pick (or several) among its options, or the user's own text. */
  private async questions(request: UserQuestionsRequest): Promise<UserQuestionsAnswer> {
    const answers: Record<string, string> = {}
    for (const question of request.questions) {
      const answer = await this.oneQuestion(question, request.signal)
      if (answer === 'aborted') return { declined: true, reason: 'the run was interrupted' }
      if (answer === 'interrupted') {
        // Esc or Ctrl-C at the question: no answers, and stop here to wait for the user.
        this.host.interruptRun()
        return { declined: true, reason: 'the user interrupted instead of answering' }
      }
      if (answer !== '') answers[question.question] = answer
    }
    return { answers }
  }

  private async oneQuestion(
    question: UserQuestion,
    signal: AbortSignal,
  ): Promise<string | 'aborted' | 'interrupted'> {
    const width = this.host.columns
    const title: Row[] = [
      [],
      [
        ...(question.header !== '' ? [span(`[${question.header}] `, { color: 'cyan' })] : []),
        span(question.question, { bold: true }),
      ],
    ]
    const label = (o: UserQuestion['options'][number]) =>
      truncate(o.description === '' ? o.label : `${o.label} — ${o.description}`, width - 8)
    if (question.multiSelect) {
      this.host.print([...title, ...question.options.map((o, i): Row => [span(`  ${i + 1}) ${label(o)}`)])])
      const text = await this.askText(
        'Pick one or more: numbers separated by commas (1,3), or type your own answer',
        signal,
      )
      if (text === undefined) return signal.aborted ? 'aborted' : 'interrupted'
      const picks = /^\s*\d+(\s*,\s*\d+)*\s*$/.test(text)
        ? text.split(',').map((n) => question.options[Number(n.trim()) - 1])
        : undefined
      if (picks?.every((o) => o !== undefined)) return picks.map((o) => o!.label).join(', ')
      return text.trim()
    }
    const OWN = Symbol('own answer')
    const picked = await this.choose<string | typeof OWN>(
      title,
      [
        ...question.options.map((o) => ({ label: label(o), value: o.label })),
        { label: 'Type my own answer', value: OWN },
      ],
      signal,
    )
    if (picked.type === 'aborted') return 'aborted'
    if (picked.type !== 'picked') return 'interrupted'
    if (picked.value !== OWN) return picked.value
    const own = await this.askText('Your answer:', signal)
    if (own === undefined) return signal.aborted ? 'aborted' : 'interrupted'
    return own.trim()
  }

  /** ExitPlanMode's plan (the session's approvePlan): shown, then approved in a mode or sent back. */
  private async plan(request: PlanApprovalRequest): Promise<PlanApproval> {
    const answer = await this.choose<'acceptEdits' | 'default' | 'revise'>(
      [...this.planRows(request), [], [span('Would you like to proceed with this plan?', { bold: true })]],
      [
        { label: 'Yes, and auto-accept edits', letter: 'a', value: 'acceptEdits' },
        { label: 'Yes, and ask before each edit', letter: 'y', value: 'default' },
        { label: 'No, keep planning (tell the model what to change)', letter: 'n', value: 'revise' },
      ],
      request.signal,
    )
    if (answer.type === 'aborted') return { decision: 'reject', reason: 'the run was interrupted' }
    if (answer.type !== 'picked') {
      // Esc or Ctrl-C at the question: keep planning, and stop here to wait for the user.
      this.host.interruptRun()
      return { decision: 'reject', reason: 'the user interrupted instead of answering' }
    }
    if (answer.value !== 'revise') {
      this.host.say(`permission mode: ${answer.value}`, { color: 'magenta' })
      return { decision: 'approve', mode: answer.value }
    }
    const comments =
      answer.rest || (await this.askText('What should change in the plan?', request.signal))?.trim() || ''
    if (comments !== '') return { decision: 'revise', comments }
    this.host.say('(still in plan mode)', { dim: true })
    return { decision: 'reject', reason: 'the user wants to keep planning and said nothing more' }
  }

  private planRows(plan: { readonly plan: string; readonly file: string }): Row[] {
    const width = this.host.columns
    const md = new MarkdownStream({ color: this.host.color, width: () => width - 4 })
    const body = [...md.push(`${plan.plan}\n`), ...md.end()]
    const file = relative(this.host.cwd, plan.file) || plan.file
    return [
      [],
      [span('  Plan', { bold: true }), span(` (saved to ${file})`, { dim: true })],
      ...body.map((row): Row => [span('  │ ', { dim: true }), ...row]),
    ]
  }
}
