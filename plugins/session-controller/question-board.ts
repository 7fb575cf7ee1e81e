/**
 * A UserInteraction whose questions wait on a board until answered by id: what a frontend that
 * is not in the same process as its user needs (an HTTP server's "answer a pending question", an
 * editor adapter's request/response). Each question is announced (`question`), answered with
 * `answer(id, value)`, and withdrawn (`question-closed`) when its run is aborted.
 */
import { randomUUID } from 'node:crypto'
import type { UserInteraction } from '../agent/index.js'
import type { AnswerOf, ControllerEvent, PendingQuestion } from './events.js'

interface Waiting {
  readonly question: PendingQuestion
  readonly resolve: (answer: unknown) => void
}

export class QuestionBoard {
  private readonly waiting = new Map<string, Waiting>()

  constructor(private readonly emit: (event: ControllerEvent) => void) {}

  /** The questions waiting now, oldest first. */
  pending(): PendingQuestion[] {
    return [...this.waiting.values()].map((w) => w.question)
  }

  /** Answers a pending question; false when there is none with that id (answered, withdrawn). */
  answer<K extends PendingQuestion['kind']>(id: string, answer: AnswerOf[K]): boolean {
    const waiting = this.waiting.get(id)
    if (!waiting) return false
    this.close(id)
    waiting.resolve(answer)
    return true
  }

  /** Puts a question up until answered, or withdrawn with `fallback` when `signal` aborts. */
  ask<K extends PendingQuestion['kind']>(
    question: Omit<Extract<PendingQuestion, { kind: K }>, 'id'>,
    signal: AbortSignal | undefined,
    fallback: AnswerOf[K],
  ): Promise<AnswerOf[K]> {
    if (signal?.aborted) return Promise.resolve(fallback)
    const id = randomUUID()
    const full = { ...question, id } as unknown as PendingQuestion
    return new Promise((resolve) => {
      const onAbort = () => {
        if (!this.waiting.has(id)) return
        this.close(id)
        resolve(fallback)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.set(id, {
        question: full,
        resolve: (answer) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(answer as AnswerOf[K])
        },
      })
      this.emit({ type: 'question', question: full })
    })
  }

  /** Withdraws every pending question with its fallback (the controller closes). */
  withdrawAll(): void {
    for (const id of [...this.waiting.keys()]) this.close(id)
  }

  private close(id: string): void {
    if (this.waiting.delete(id)) this.emit({ type: 'question-closed', id })
  }

  /** The board as a session's UserInteraction. */
  interaction(): UserInteraction {
    const strip = <T extends { signal: AbortSignal }>({ signal: _signal, ...rest }: T) => rest
    return {
      askPermission: (request) =>
        this.ask<'permission'>({ kind: 'permission', request: strip(request) }, request.signal, 'deny'),
      approvePlan: (request) =>
        this.ask<'plan'>({ kind: 'plan', request: strip(request) }, request.signal, {
          decision: 'reject',
          reason: 'the run was interrupted',
        }),
      elicit: (request, signal) =>
        this.ask<'elicitation'>({ kind: 'elicitation', request }, signal, { action: 'cancel' }),
      confirmSampling: (request, signal) =>
        this.ask<'sampling'>({ kind: 'sampling', request }, signal, {
          action: 'deny',
          reason: 'the request was cancelled',
        }),
      askQuestions: (request) =>
        this.ask<'questions'>({ kind: 'questions', request: strip(request) }, request.signal, {
          declined: true,
          reason: 'the run was interrupted',
        }),
    }
  }
}
