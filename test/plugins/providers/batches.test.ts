/** flattenBatches and deferred: the iterators between a provider's chunks and its consumers. */
import { describe, expect, it } from 'vitest'
import { deferred, flattenBatches } from '../../../plugins/providers/index.js'

describe('flattenBatches', () => {
  it('gives every event of every batch in order, skipping empty batches', async () => {
    async function* source() {
      yield [1, 2]
      yield []
      yield [3]
    }
    const out: number[] = []
    for await (const n of flattenBatches(source())) out.push(n)
    expect(out).toEqual([1, 2, 3])
  })

  it('passes a consumer that stops early on to the source (its finally runs)', async () => {
    let closed = false
    async function* source() {
      try {
        yield [1, 2, 3]
        yield [4]
      } finally {
        closed = true
      }
    }
    const out: number[] = []
    for await (const n of flattenBatches(source())) {
      out.push(n)
      if (n === 2) break
    }
    expect(out).toEqual([1, 2])
    expect(closed).toBe(true)
  })

  it('delivers a batch before the error that follows it', async () => {
    async function* source() {
      yield ['a', 'b']
      throw new Error('cut')
    }
    const out: string[] = []
    await expect(
      (async () => {
        for await (const s of flattenBatches(source())) out.push(s)
      })(),
    ).rejects.toThrow('cut')
    expect(out).toEqual(['a', 'b'])
  })
})

describe('deferred', () => {
  it('makes the stream on the first read, so its setup error reaches the loop', async () => {
    let made = 0
    const stream = deferred<number>(() => {
      made++
      throw new Error('no such provider')
    })
    expect(made).toBe(0)
    await expect(
      (async () => {
        for await (const _ of stream) expect.unreachable()
      })(),
    ).rejects.toThrow('no such provider')
    expect(made).toBe(1)
  })
})
