/**
 * A delay longer than any test may take (vitest.config.ts: testTimeout 180 s). A scripted answer
 * held this long never arrives within a test, so a test that ends at all proves that the timeout or
 * abort under test fired — without timing it against the clock, which a busy machine outlasts.
 */
export const ANSWER_NEVER_MS = 600_000
