/**
 * One model call's stream as the run sees it: the provider's events passed through with the
 * run's own events sent as they come, the modelCallFailed hook, and which provider failures the
 * run answers by compacting or by the fallback model.
 */
import type { ModelRequest, StreamEvent } from '../../kernel/index.js'
import { isTauError } from '../../kernel/index.js'
import { isContextLengthMessage, isProviderError } from '../providers/index.js'
import { AGENT_ERRORS, messageOf } from './errors.js'
import type { ModelCallFailure } from './hooks.js'
import type { EventBody, RunHost } from './run-host.js'

/** The provider refused the request as too long for the model. */
export function isContextLength(error: unknown): boolean {
  return isProviderError(error) && (error.kind === 'context-length' || isContextLengthMessage(error.message))
}

/** Failures a fallback model may answer instead: overloaded, rate-limited, server errors, timeouts. */
export function fallsBack(error: unknown): boolean {
  return (
    isProviderError(error) &&
    (error.kind === 'server' || error.kind === 'rate-limit' || error.kind === 'timeout')
  )
}

/** What the stream of a call noted: the text streamed so far and when the first token came. */
export interface PartialCall {
  text: string
  firstToken?: number
}

/**
 * Passes the provider's events through, sending text and reasoning deltas as they come (and,
 * with `model` set, every event as `model-stream`); notes when the first token came.
 *
 * An iterator of its own, not an async generator: a generator's `next()` and the `for await`
 * inside it each make a promise and a result object for every event of every call, where this
 * hands on the provider's own results (one `then` an event). It keeps the generator's contract:
 * an event is relayed before the consumer sees it; an abort closes the provider's stream and
 * rejects with 'aborted'; the consumer's `return()` closes the provider's stream.
 */
export function relay(
  events: AsyncIterable<StreamEvent>,
  partial: PartialCall,
  model: string | undefined,
  signal: AbortSignal,
  emit: (event: EventBody) => void,
): AsyncIterableIterator<StreamEvent> {
  let inner: AsyncIterator<StreamEvent> | undefined
  let done = false
  const end: IteratorReturnResult<undefined> = { done: true, value: undefined }
  /** Closes the provider's stream after a failure here, then rejects with that failure. */
  const fail = async (error: unknown): Promise<never> => {
    done = true
    try {
      await inner?.return?.()
    } catch {
      // The failure that closed the stream is the one that counts, as in a for await loop.
    }
    throw error
  }
  const pass = (result: IteratorResult<StreamEvent>): IteratorResult<StreamEvent> | Promise<never> => {
    if (result.done) {
      done = true
      return result
    }
    const event = result.value
    try {
      if (signal.aborted) throw new Error('aborted')
      if (
        partial.firstToken === undefined &&
        event.type !== 'usage' &&
        event.type !== 'finish' &&
        event.type !== 'message-start'
      ) {
        partial.firstToken = performance.now()
      }
      if (model !== undefined) emit({ type: 'model-stream', model, event })
      if (event.type === 'text-delta') {
        partial.text += event.text
        emit({ type: 'text-delta', text: event.text })
      } else if (event.type === 'reasoning-delta' && !event.redacted && event.text !== '') {
        emit({ type: 'reasoning-delta', text: event.text })
      }
    } catch (error) {
      return fail(error)
    }
    return result
  }
  return {
    [Symbol.asyncIterator]() {
      return this
    },
    next() {
      if (done) return Promise.resolve(end)
      inner ??= events[Symbol.asyncIterator]()
      return inner.next().then(pass, (error: unknown) => {
        // A stream that threw is done: the next call ends, as a generator's would.
        done = true
        throw error
      })
    },
    async return() {
      if (!done) {
        done = true
        await inner?.return?.()
      }
      return end
    },
  }
}

/** The modelCallFailed hook (its failure is only logged: the call's own error is what counts). */
export async function modelCallFailed(
  host: RunHost,
  call: { runId: string; turn: number; signal: AbortSignal },
  request: ModelRequest | undefined,
  error: unknown,
): Promise<void> {
  const failure: ModelCallFailure = {
    sessionId: host.sessionId,
    runId: call.runId,
    turn: call.turn,
    request,
    error: {
      code: isTauError(error) ? error.code : AGENT_ERRORS.TAU_AGENT_FAILED,
      message: messageOf(error),
    },
    aborted: call.signal.aborted,
  }
  await host.hooks.modelCallFailed
    .promise(failure)
    .catch((hookError: unknown) => host.logger.warn(`a modelCallFailed hook failed: ${messageOf(hookError)}`))
}
