/**
 * The one iterator between an HTTP response and a provider's consumer. Every layer of async
 * generators costs a few promises per event; a provider's stream is therefore a single object
 * (`streamEvents`) that awaits the network once per chunk, parses the chunk and turns its items
 * into events synchronously, and hands those events out as already-resolved promises (see
 * docs/benchmarks.md, the request path).
 */
import type { ChunkParser } from './framing.js'

/** How a provider turns the parsed items of its answer (SSE events, NDJSON lines) into events. */
export interface EventReader<I, E> {
  /** The items one network chunk completed: pushes their events onto `out`. May throw. */
  read(items: readonly I[], out: E[]): void
  /** The body ended (its last items were read): pushes the closing events, or throws. */
  end(out: E[]): void
}

/** One answer to read: its body, the framing that cuts it into items, and the provider's reader. */
export interface EventSource<I, E> {
  readonly body: AsyncIterable<Uint8Array>
  readonly parser: ChunkParser<I>
  readonly reader: EventReader<I, E>
}

export interface StreamEventsOptions {
  /**
   * An error while reading the answer (not one `open` threw: those reach the consumer as they
   * are). Resolves to send the request again (`open` is called once more), or rejects with the
   * error the consumer gets. Asked again if the next answer fails too. `produced` is true once the
   * consumer was handed an event; such a stream is never opened again whatever this answers (no
   * duplicated output). Without it, read errors reach the consumer as they are.
   */
  readonly recover?: (error: unknown, attempt: number, produced: boolean) => Promise<void>
  /**
   * The largest event (one line of the body) accepted, and the provider its error names: a
   * larger one ends the answer with TAU_PROVIDER_EVENT_TOO_LARGE (providers.limits.maxEventBytes).
   */
  readonly limit?: { readonly maxEventBytes: number; readonly provider: string }
}

/**
 * The events of an answer. `open` (which sends the request) is called when the stream is first
 * read, so its errors reach the consumer's loop as they would from an async generator. A chunk's
 * events go out before an error its later items raised. A consumer that stops early (break,
 * return) releases the body.
 */
export function streamEvents<I, E>(
  open: (attempt: number) => Promise<EventSource<I, E>>,
  options: StreamEventsOptions = {},
): AsyncIterable<E> {
  return { [Symbol.asyncIterator]: () => new EventStream(open, options.recover, options.limit) }
}

class EventStream<I, E> implements AsyncIterator<E> {
  private source: EventSource<I, E> | undefined
  private chunks: AsyncIterator<Uint8Array> | undefined
  private readonly out: E[] = []
  private index = 0
  private attempt = 0
  private produced = false
  /** The body ended (or the stream was closed): nothing more is read. */
  private finished = false
  /** An error to surface once the events read before it are handed out; `opening`: open() threw. */
  private failure: { error: unknown; opening: boolean } | undefined

  constructor(
    private readonly open: (attempt: number) => Promise<EventSource<I, E>>,
    private readonly recover: StreamEventsOptions['recover'],
    private readonly limit: StreamEventsOptions['limit'],
  ) {}

  next(): Promise<IteratorResult<E>> {
    const out = this.out
    if (this.index < out.length) {
      this.produced = true
      return Promise.resolve({ done: false, value: out[this.index++] as E })
    }
    return this.pull()
  }

  private async pull(): Promise<IteratorResult<E>> {
    const out = this.out
    out.length = 0
    this.index = 0
    for (;;) {
      if (this.failure) {
        const { error, opening } = this.failure
        this.failure = undefined
        if (opening || !(await this.retry(error))) throw error
      }
      if (this.finished) return { done: true, value: undefined }
      try {
        await this.readChunk(out)
      } catch (error) {
        this.finished ||= this.source === undefined
        this.failure = { error, opening: this.source === undefined }
      }
      if (out.length > 0) {
        this.produced = true
        this.index = 1
        return { done: false, value: out[0] as E }
      }
    }
  }

  /** Reads the next chunk (opening the source first if need be) and pushes its events onto out. */
  private async readChunk(out: E[]): Promise<void> {
    let source = this.source
    if (!source) {
      source = await this.open(this.attempt)
      if (this.limit) source.parser.limit?.(this.limit.maxEventBytes, this.limit.provider)
      this.source = source
      this.chunks = source.body[Symbol.asyncIterator]()
    }
    const chunk = await (this.chunks as AsyncIterator<Uint8Array>).next()
    if (chunk.done) {
      this.finished = true
      const last = source.parser.end()
      if (last.length > 0) source.reader.read(last, out)
      source.reader.end(out)
      return
    }
    const items = source.parser.push(chunk.value)
    if (items.length > 0) source.reader.read(items, out)
  }

  /** Whether to open the source again after `error` (recover resolved); false rethrows it. */
  private async retry(error: unknown): Promise<boolean> {
    const source = this.source
    this.source = undefined
    const chunks = this.chunks
    this.chunks = undefined
    this.finished = true
    // What is left of a failed body is not read: release its connection.
    if (source && chunks) await chunks.return?.()
    if (!this.recover) return false
    await this.recover(error, this.attempt, this.produced)
    if (this.produced) return false
    this.attempt++
    this.finished = false
    return true
  }

  async return(): Promise<IteratorResult<E>> {
    this.out.length = 0
    this.index = 0
    this.finished = true
    this.failure = undefined
    const chunks = this.chunks
    this.chunks = undefined
    this.source = undefined
    await chunks?.return?.()
    return { done: true, value: undefined }
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
