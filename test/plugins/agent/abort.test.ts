/** untilAborted: a promise that stops waiting when its signal aborts, with one listener per signal. */
import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { AbortedError, untilAborted } from '../../../plugins/agent/abort.js'

describe('untilAborted', () => {
  it('settles as the promise settles, value or error', async () => {
    const signal = new AbortController().signal
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7)
    await expect(untilAborted(Promise.reject(new Error('boom')), signal)).rejects.toThrow('boom')
  })

  it('rejects every promise still waiting when the signal aborts, and later ones at once', async () => {
    const controller = new AbortController()
    const never = new Promise<never>(() => {})
    let settle: (value: string) => void = () => {}
    const settled = new Promise<string>((resolve) => {
      settle = resolve
    })
    const waits = [untilAborted(never, controller.signal), untilAborted(never, controller.signal)]
    await expect(untilAborted(Promise.resolve('done'), controller.signal)).resolves.toBe('done')
    const late = untilAborted(settled, controller.signal)
    controller.abort()
    for (const wait of [...waits, late]) await expect(wait).rejects.toBeInstanceOf(AbortedError)
    // Settling after the abort changes nothing; a wait begun after it is rejected at once.
    settle('too late')
    await expect(late).rejects.toBeInstanceOf(AbortedError)
    await expect(untilAborted(Promise.resolve(1), controller.signal)).rejects.toBeInstanceOf(AbortedError)
  })

  it('adds one abort listener to a signal however many promises wait on it', async () => {
    const controller = new AbortController()
    const never = new Promise<never>(() => {})
    const waits = Array.from({ length: 5 }, () => untilAborted(never, controller.signal))
    for (let i = 0; i < 5; i++) await untilAborted(Promise.resolve(i), controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    for (const wait of waits) await expect(wait).rejects.toBeInstanceOf(AbortedError)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})
