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
 * added and removed per call.
 */

export class CallSignal {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined
  private readonly calls: Set<CallSignal> | undefined

  constructor(calls?: Set<CallSignal>) {
    this.calls = calls
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
    this.calls?.delete(this)
  }

  /** The shape the SDK's request options are typed with (it uses only the members above). */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal
  }
}

/** Per run signal: its calls in flight, aborted with it through one listener. */
const inFlight = new WeakMap<AbortSignal, Set<CallSignal>>()

/** A call's own signal, aborted when the run's `signal` is. */
export function linkCall(signal: AbortSignal): CallSignal {
  if (signal.aborted) {
    const done = new CallSignal()
    done.abort(signal.reason)
    return done
  }
  let calls = inFlight.get(signal)
  if (!calls) {
    const set = new Set<CallSignal>()
    calls = set
    inFlight.set(signal, set)
    signal.addEventListener(
      'abort',
      () => {
        for (const call of [...set]) call.abort(signal.reason)
        set.clear()
      },
      { once: true },
    )
  }
  const call = new CallSignal(calls)
  calls.add(call)
  return call
}
