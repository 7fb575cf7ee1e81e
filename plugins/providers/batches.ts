/**
 * A stream of batches (the events of one network chunk each) seen as a stream of events, without
 * a generator per event: `next()` hands out the current batch's events as already-resolved
 * promises and awaits the source only for the next chunk. Every `for await` over a provider's
 * stream pays one promise per event this way, instead of the three or so that each layer of
 * async generators adds (see docs/benchmarks.md, the request path).
 */

/** Flattens `source`; `return()` (a consumer that stops early) and errors pass through to it. */
export function flattenBatches<T>(source: AsyncIterable<readonly T[]>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]()
      let batch: readonly T[] = []
      let index = 0
      const pull = async (): Promise<IteratorResult<T>> => {
        for (;;) {
          const next = await it.next()
          if (next.done) return { done: true, value: undefined }
          batch = next.value
          index = 0
          if (batch.length > 0) return { done: false, value: batch[index++] as T }
        }
      }
      return {
        next(): Promise<IteratorResult<T>> {
          if (index < batch.length) return Promise.resolve({ done: false, value: batch[index++] as T })
          return pull()
        },
        async return(): Promise<IteratorResult<T>> {
          batch = []
          await it.return?.()
          return { done: true, value: undefined }
        },
      }
    },
  }
}

/**
 * `make()` called when the stream is first read, not when it is asked for: a stream's setup
 * errors (an unknown provider) reach the consumer's loop, as they do from an async generator.
 */
export function deferred<T>(make: () => AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let it: AsyncIterator<T> | undefined
      return {
        next(): Promise<IteratorResult<T>> {
          try {
            it ??= make()[Symbol.asyncIterator]()
          } catch (error) {
            return Promise.reject(error)
          }
          return it.next()
        },
        async return(): Promise<IteratorResult<T>> {
          await it?.return?.()
          return { done: true, value: undefined }
        },
      }
    },
  }
}

/**
 * Each chunk's items turned into events by `read` (which pushes them onto `out`, merging with
 * pushEvent), one batch a chunk. When `read` throws, the events it made of that chunk before the
 * failure go out first, then the error. `out` is the caller's, for the events it adds at the end.
 */
export async function* readBatches<I, E>(
  chunks: AsyncIterable<readonly I[]>,
  out: E[],
  read: (items: readonly I[]) => void,
): AsyncGenerator<E[]> {
  for await (const items of chunks) {
    try {
      read(items)
    } catch (error) {
      if (out.length > 0) yield out.splice(0)
      throw error
    }
    if (out.length > 0) yield out.splice(0)
  }
}
