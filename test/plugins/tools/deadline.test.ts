/**
 * A tool's time limit fires even when the heap is collected before it does. The test's full
 * collection stands for the ones a busy process runs anyway: with AbortSignal.timeout inside
 * AbortSignal.any, Node 20 collects the timeout signal, clears its timer, and the combined signal
 * never aborts (this test then hangs until vitest's limit and fails).
 */
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { deadline } from '../../../plugins/tools/deadline.js'
import { fullGc } from '../../full-gc.js'

describe('deadline', () => {
  it('aborts with a TimeoutError at the limit, a full garbage collection in between', async () => {
    const limit = deadline(new AbortController().signal, 300)
    const aborted = once(limit.signal, 'abort')
    // In a later task: what a WeakRef's target was made or read in survives the current one.
    await new Promise((next) => setImmediate(next))
    fullGc()
    await aborted
    expect(limit.signal.reason).toMatchObject({ name: 'TimeoutError' })
  })

  it("aborts with the caller's reason when the caller aborts first", async () => {
    const caller = new AbortController()
    const limit = deadline(caller.signal, 60_000)
    const aborted = once(limit.signal, 'abort')
    caller.abort(new Error('turn cancelled'))
    await aborted
    expect(limit.signal.reason).toMatchObject({ message: 'turn cancelled' })
    limit.clear()
  })
})
