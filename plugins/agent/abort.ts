/** Small helpers to make any promise stop waiting when a signal aborts. */

/** Thrown (as a rejection) when the signal aborts before the promise settles. */
export class AbortedError extends Error {
  constructor(message = 'aborted') {
    super(message)
    this.name = 'AbortedError'
  }
}

/**
 * The rejections waiting on each signal. A run awaits a dozen promises a turn through
 * untilAborted; one 'abort' listener per signal, with a set of waiters, costs far less than an
 * EventTarget listener added and removed for each (docs/benchmarks.md, the turn by phase).
 */
const waiting = new WeakMap<AbortSignal, Set<(error: AbortedError) => void>>()

function waitersOf(signal: AbortSignal): Set<(error: AbortedError) => void> {
  let set = waiting.get(signal)
  if (set === undefined) {
    const waiters = new Set<(error: AbortedError) => void>()
    set = waiters
    waiting.set(signal, waiters)
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal)
        for (const reject of waiters) reject(new AbortedError())
        waiters.clear()
      },
      { once: true },
    )
  }
  return set
}

/** Settles like `promise`, or rejects with AbortedError as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(new AbortedError())
  }
  const waiters = waitersOf(signal)
  return new Promise<T>((resolve, reject) => {
    waiters.add(reject)
    promise.then(
      (value) => {
        waiters.delete(reject)
        resolve(value)
      },
      (error: unknown) => {
        waiters.delete(reject)
        reject(error)
      },
    )
  })
}

/** Runs `fn` over `items` with at most `limit` at once; resolves when all are done. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!
      await fn(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
