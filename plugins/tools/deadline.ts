/**
 * A signal that aborts when the caller's does or when a time limit passes, for a tool's own
 * timeout (WebFetch, WebSearch).
 *
 * Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 (20.20 included) the
 * combined signal holds its sources only weakly, and nothing else holds the timeout signal, so a
 * full garbage collection before the time is up collects it, its FinalizationRegistry clears the
 * timer, and the combined signal never aborts: a server that never answers hangs the call for
 * good. Here the timer's callback holds the controller, so the limit fires whatever the GC does.
 */

export interface Deadline {
  /** Aborts with the caller's reason, or with a TimeoutError (as AbortSignal.timeout's) at the limit. */
  readonly signal: AbortSignal
  /** Stops the timer (call when the work is done, so nothing is left pending). */
  clear(): void
}

export function deadline(signal: AbortSignal, ms: number): Deadline {
  const timeout = new AbortController()
  const timer = setTimeout(
    () => timeout.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  )
  // As AbortSignal.timeout's: the limit alone does not keep the process alive.
  timer.unref()
  return { signal: AbortSignal.any([signal, timeout.signal]), clear: () => clearTimeout(timer) }
}
