/** streamEvents and deferred: the iterators between a provider's answer and its consumers. */
import { describe, expect, it } from 'vitest'
import {
  type ChunkParser,
  deferred,
  type EventReader,
  type EventSource,
  streamEvents,
} from '../../../plugins/providers/index.js'

/** Items are the comma-separated words of each chunk; the end yields the word "end" once. */
class Words implements ChunkParser<string> {
  push(chunk: Uint8Array): string[] {
    const text = Buffer.from(chunk).toString('utf8')
    return text === '' ? [] : text.split(',')
  }
  end(): string[] {
    return ['end']
  }
}

/** Upper-cases each word; a word "boom" throws; `end` adds "done" (or throws `endError`). */
function upper(endError?: Error): EventReader<string, string> {
  return {
    read(items, out) {
      for (const item of items) {
        if (item === 'boom') throw new Error('boom in the stream')
        out.push(item.toUpperCase())
      }
    },
    end(out) {
      if (endError) throw endError
      out.push('done')
    },
  }
}

interface Body {
  readonly body: AsyncIterable<Uint8Array>
  /** Whether the body's return() ran (the connection released) and how many chunks were read. */
  readonly state: { released: boolean; read: number }
}

function body(...chunks: string[]): Body {
  const state = { released: false, read: 0 }
  async function* make() {
    try {
      for (const chunk of chunks) {
        state.read++
        yield Buffer.from(chunk)
      }
    } finally {
      state.released = true
    }
  }
  return { body: make(), state }
}

const source = (b: Body, reader = upper()): EventSource<string, string> => ({
  body: b.body,
  parser: new Words(),
  reader,
})

async function collect<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error?: Error }> {
  const items: T[] = []
  try {
    for await (const item of iterable) items.push(item)
  } catch (error) {
    return { items, error: error as Error }
  }
  return { items }
}

describe('streamEvents', () => {
  it("gives every chunk's events in order, then the reader's closing events", async () => {
    const b = body('a,b', '', 'c')
    const { items, error } = await collect(streamEvents(async () => source(b)))
    expect(error).toBeUndefined()
    expect(items).toEqual(['A', 'B', 'C', 'END', 'done'])
  })

  it('opens the source only when first read, and its errors reach the loop unrecovered', async () => {
    let opened = 0
    let recovered = 0
    const stream = streamEvents<string, string>(
      async () => {
        opened++
        throw new Error('no API key')
      },
      {
        recover: async () => {
          recovered++
        },
      },
    )
    expect(opened).toBe(0)
    const { items, error } = await collect(stream)
    expect(items).toEqual([])
    expect(error?.message).toBe('no API key')
    expect(opened).toBe(1)
    expect(recovered).toBe(0)
  })

  it('hands out the events read before an error, then the error, and releases the body', async () => {
    const b = body('a,b', 'c,boom,d', 'e')
    const { items, error } = await collect(streamEvents(async () => source(b)))
    expect(items).toEqual(['A', 'B', 'C'])
    expect(error?.message).toBe('boom in the stream')
    expect(b.state.released).toBe(true)
    expect(b.state.read).toBe(2)
  })

  it("surfaces the reader's end error (a stream cut short) after the last events", async () => {
    const b = body('a')
    const { items, error } = await collect(
      streamEvents(async () => source(b, upper(new Error('ended before message_stop')))),
    )
    expect(items).toEqual(['A', 'END'])
    expect(error?.message).toBe('ended before message_stop')
  })

  it('releases the body when the consumer stops early', async () => {
    const b = body('a,b,c', 'd')
    const out: string[] = []
    for await (const item of streamEvents(async () => source(b))) {
      out.push(item)
      if (item === 'B') break
    }
    expect(out).toEqual(['A', 'B'])
    expect(b.state.released).toBe(true)
    expect(b.state.read).toBe(1)
  })

  it('opens again when recover resolves before any output, with the attempt number', async () => {
    const bodies = [body('boom'), body('boom'), body('ok')]
    const attempts: number[] = []
    const recoveries: Array<[number, boolean]> = []
    const { items, error } = await collect(
      streamEvents(
        async (attempt) => {
          attempts.push(attempt)
          return source(bodies[attempt] as Body)
        },
        {
          recover: async (_error, attempt, produced) => {
            recoveries.push([attempt, produced])
          },
        },
      ),
    )
    expect(error).toBeUndefined()
    expect(items).toEqual(['OK', 'END', 'done'])
    expect(attempts).toEqual([0, 1, 2])
    expect(recoveries).toEqual([
      [0, false],
      [1, false],
    ])
    expect(bodies.map((b) => b.state.released)).toEqual([true, true, true])
  })

  it('never opens again once an event was handed out, whatever recover answers', async () => {
    let opened = 0
    const recoveries: boolean[] = []
    const { items, error } = await collect(
      streamEvents(
        async () => {
          opened++
          return source(body('a', 'boom'))
        },
        {
          recover: async (_error, _attempt, produced) => {
            recoveries.push(produced)
          },
        },
      ),
    )
    expect(items).toEqual(['A'])
    expect(error?.message).toBe('boom in the stream')
    expect(opened).toBe(1)
    expect(recoveries).toEqual([true])
  })

  it('gives the error recover rejects with instead of the original', async () => {
    const { error } = await collect(
      streamEvents(async () => source(body('boom')), {
        recover: (error) => Promise.reject(new Error(`provider-x: ${(error as Error).message}`)),
      }),
    )
    expect(error?.message).toBe('provider-x: boom in the stream')
  })

  it('is done after an error: a second read ends the stream', async () => {
    const it = streamEvents(async () => source(body('boom')))[Symbol.asyncIterator]()
    await expect(it.next()).rejects.toThrow('boom in the stream')
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined })
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
