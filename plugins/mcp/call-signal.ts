/**
 * The cheap parts of a tool call's round trip (see docs/benchmarks.md, MCP): measured on one
 * connection, the SDK's per-request options cost more than tau's own code — a real
 * AbortSignal per call (the SDK adds a listener to the signal it gets and never removes it, so
 * a run's shared signal cannot be passed) ~5 µs, and the SDK's `onprogress` bookkeeping ~3 µs,
 * on a ~40 µs call.
 *
 * `CallSignal` is what the SDK's `request()` uses of an AbortSignal for a tools/call —
 * `aborted`, `reason`, `throwIfAborted()` and one `'abort'` listener — without EventTarget. It
 * is linked to the run's signal through one listener per run signal (`linkCall`), not one
 * added and removed per call. A run signal's calls in flight are a list threaded through the
 * calls themselves: a Set of them cost ~0.4 µs per call (each new object is given a hash).
 */

/** A run signal's calls in flight: a list threaded through the calls (no hashing per call). */
interface InFlight {
  head: CallSignal | undefined
}

export class CallSignal {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined
  private list: InFlight | undefined
  private prev: CallSignal | undefined
  private next: CallSignal | undefined

  constructor(list?: InFlight) {
    if (!list) return
    this.list = list
    this.next = list.head
    if (list.head) list.head.prev = this
    list.head = this
  }

  addEventListener(type: string, listener: () => void): void {
    if (type === 'abort') this.listener = listener
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === 'abort' && this.listener === listener) this.listener = undefined
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listener = this.listener
    this.listener = undefined
    listener?.()
  }

  /** The call ended: it no longer follows the run's signal. */
  release(): void {
    this.listener = undefined
    const list = this.list
    if (!list) return
    this.list = undefined
    if (this.prev) this.prev.next = this.next
    else list.head = this.next
    if (this.next) this.next.prev = this.prev
    this.prev = undefined
    this.next = undefined
  }

  /** The calls of a list, first to last (a copy: aborting one may release it). */
  static all(list: InFlight): CallSignal[] {
    const calls: CallSignal[] = []
    for (let call = list.head; call; call = call.next) calls.push(call)
    return calls
  }

  /** The shape the SDK's request options are typed with (it uses only the members above). */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal
  }
}

/** Per run signal: its calls in flight, aborted with it through one listener. */
const inFlight = new WeakMap<AbortSignal, InFlight>()

/** A call's own signal, aborted when the run's `signal` is. */
export function linkCall(signal: AbortSignal): CallSignal {
  if (signal.aborted) {
    const done = new CallSignal()
    done.abort(signal.reason)
    return done
  }
  let list = inFlight.get(signal)
  if (!list) {
    const calls: InFlight = { head: undefined }
    list = calls
    inFlight.set(signal, calls)
    signal.addEventListener(
      'abort',
      () => {
        for (const call of CallSignal.all(calls)) {
          call.abort(signal.reason)
          call.release()
        }
      },
      { once: true },
    )
  }
  return new CallSignal(list)
}

/**
 * The progress callbacks of a connection's calls in flight, by the progress token each was given:
 * two short arrays scanned, since only a few calls are in flight at once (a Map with a new key set
 * and deleted per call cost ~0.3 µs).
 */
export class ProgressRoutes<T> {
  private readonly tokens: number[] = []
  private readonly routes: T[] = []
  private seq = 0

  /** A new token, unique on this connection, routed to `route` until close(). */
  open(route: T): number {
    const token = ++this.seq
    this.tokens.push(token)
    this.routes.push(route)
    return token
  }

  get(token: unknown): T | undefined {
    const index = typeof token === 'number' ? this.tokens.indexOf(token) : -1
    return index < 0 ? undefined : this.routes[index]
  }

  close(token: number): void {
    const index = this.tokens.indexOf(token)
    if (index < 0) return
    const last = this.tokens.length - 1
    this.tokens[index] = this.tokens[last] as number
    this.routes[index] = this.routes[last] as T
    this.tokens.pop()
    this.routes.pop()
  }

  get size(): number {
    return this.tokens.length
  }

  /** The routes open now, in no particular order. */
  get current(): readonly T[] {
    return this.routes
  }
}
