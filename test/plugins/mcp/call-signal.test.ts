/** The per-call signal the MCP plugin hands the SDK, linked to the run's signal; progress routing. */
import { describe, expect, it } from 'vitest'
import { linkCall, ProgressRoutes } from '../../../plugins/mcp/call-signal.js'

function listened(signal: ReturnType<typeof linkCall>) {
  const seen: unknown[] = []
  signal.addEventListener('abort', () => seen.push(signal.reason))
  return seen
}

describe('linkCall', () => {
  it("aborts every call in flight with the run's reason, and only those", () => {
    const run = new AbortController()
    const calls = Array.from({ length: 5 }, () => linkCall(run.signal))
    const seen = calls.map(listened)
    // Released: the first, the last and one in the middle (head, tail and inner links).
    for (const i of [0, 2, 4]) calls[i]?.release()
    run.abort('stop')
    expect(calls.map((c) => c.aborted)).toEqual([false, true, false, true, false])
    expect(seen).toEqual([[], ['stop'], [], ['stop'], []])
  })

  it('calls each listener once, and a call released after the abort stays aborted', () => {
    const run = new AbortController()
    const a = linkCall(run.signal)
    const b = linkCall(run.signal)
    const seenA = listened(a)
    const seenB = listened(b)
    run.abort('gone')
    a.release()
    b.release()
    expect([seenA, seenB]).toEqual([['gone'], ['gone']])
    expect(() => a.throwIfAborted()).toThrow('gone')
  })

  it('keeps following the run signal after many calls came and went', () => {
    const run = new AbortController()
    for (let i = 0; i < 1000; i++) linkCall(run.signal).release()
    const live = linkCall(run.signal)
    const seen = listened(live)
    run.abort('late')
    expect(seen).toEqual(['late'])
  })

  it('gives a call on an aborted run signal an aborted signal at once', () => {
    const run = new AbortController()
    run.abort('already')
    const call = linkCall(run.signal)
    expect(call.aborted).toBe(true)
    expect(call.reason).toBe('already')
  })

  it('runs of different signals do not abort each other', () => {
    const one = new AbortController()
    const two = new AbortController()
    const a = linkCall(one.signal)
    const b = linkCall(two.signal)
    one.abort('one')
    expect([a.aborted, b.aborted]).toEqual([true, false])
  })

  it('a removed listener is not called', () => {
    const run = new AbortController()
    const call = linkCall(run.signal)
    let called = false
    const listener = () => {
      called = true
    }
    call.addEventListener('abort', listener)
    call.removeEventListener('abort', listener)
    run.abort('x')
    expect(called).toBe(false)
    expect(call.aborted).toBe(true)
  })
})

describe('ProgressRoutes', () => {
  it('routes each token to its own call until it is closed, in any order', () => {
    const routes = new ProgressRoutes<string>()
    const tokens = ['a', 'b', 'c', 'd'].map((name) => routes.open(name))
    expect(new Set(tokens).size).toBe(4)
    routes.close(tokens[1] as number)
    routes.close(tokens[0] as number)
    expect(tokens.map((t) => routes.get(t))).toEqual([undefined, undefined, 'c', 'd'])
    const e = routes.open('e')
    expect(tokens).not.toContain(e)
    expect([routes.get(tokens[2]), routes.get(tokens[3]), routes.get(e)]).toEqual(['c', 'd', 'e'])
    expect(routes.size).toBe(3)
  })

  it('knows nothing of tokens it did not give, closed ones, or tokens of another type', () => {
    const routes = new ProgressRoutes<string>()
    const token = routes.open('x')
    expect(routes.get(token + 1)).toBeUndefined()
    expect(routes.get(String(token))).toBeUndefined()
    routes.close(token)
    routes.close(token)
    expect(routes.get(token)).toBeUndefined()
    expect(routes.size).toBe(0)
  })

  it('never reuses a token after many calls came and went', () => {
    const routes = new ProgressRoutes<number>()
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const token = routes.open(i)
      expect(seen.has(token)).toBe(false)
      seen.add(token)
      expect(routes.get(token)).toBe(i)
      routes.close(token)
    }
    expect(routes.size).toBe(0)
  })
})
