/**
 * Big answers: the line framing is linear in its input (a multi-megabyte event in small chunks is
 * scanned a bounded number of times per character, counted, not timed), and one event larger than
 * providers.limits.maxEventBytes ends the call with TAU_PROVIDER_EVENT_TOO_LARGE. The provider
 * tests go through the real OpenAI wire over loopback (the scripted server).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { NdjsonLines, SseParser } from '../../../plugins/providers/framing.js'
import {
  collect,
  collectUntilError,
  type Harness,
  request,
  startHarness,
  toolEnds,
} from '../provider-openai/helpers.js'

const MB = 1024 * 1024

function feed(parser: SseParser | NdjsonLines, text: string, size: number): unknown[] {
  const bytes = Buffer.from(text)
  const out: unknown[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(...parser.push(bytes.subarray(i, i + size)))
  out.push(...parser.end())
  return out
}

describe('line framing is linear in its input', () => {
  for (const megabytes of [1, 8]) {
    it(`an SSE event of ${megabytes} MB in 1 KB chunks is scanned at most twice per character`, () => {
      const argument = JSON.stringify({ content: 'x'.repeat(megabytes * MB) })
      const body = `data: ${JSON.stringify({ arguments: argument })}\n\ndata: [DONE]\n\n`
      const parser = new SseParser()
      const events = feed(parser, body, 1024) as Array<{ data: string }>
      expect(events).toHaveLength(2)
      expect(JSON.parse(events[0]!.data).arguments).toBe(argument)
      expect(parser.scanned).toBeLessThanOrEqual(2 * body.length)
    })
  }

  it('an NDJSON line of 8 MB cut into 100-byte chunks, with \\r\\n line ends, likewise', () => {
    const line = JSON.stringify({ message: { content: 'y'.repeat(8 * MB) } })
    const body = `${line}\r\n{"done":true}\r\n`
    const parser = new NdjsonLines()
    const lines = feed(parser, body, 100) as string[]
    expect(lines).toEqual([line, '{"done":true}'])
    expect(parser.scanned).toBeLessThanOrEqual(2 * body.length)
  })

  it('a \\r\\n cut between two chunks is one line end', () => {
    const parser = new NdjsonLines()
    expect([
      ...parser.push(Buffer.from('{"a":1}\r')),
      ...parser.push(Buffer.from('\n{"b":2}\n')),
      ...parser.end(),
    ]).toEqual(['{"a":1}', '{"b":2}'])
  })
})

let harness: Harness | undefined
afterEach(async () => {
  await harness?.stop()
  harness = undefined
})

describe('providers.limits.maxEventBytes', () => {
  it('an 8 MB tool call argument sent as one event in 4 KB chunks arrives whole', async () => {
    const content = 'z'.repeat(8 * MB)
    harness = await startHarness([
      {
        toolCalls: [{ id: 'w', name: 'Write', input: { file_path: 'big.txt', content } }],
        deltaChars: 16 * MB,
        chunkBytes: 4096,
      },
    ])
    const events = await collect(harness.provider.stream(request()))
    const [end] = toolEnds(events)
    expect(end?.input).toEqual({ file_path: 'big.txt', content })
  })

  it('a larger event than the cap ends the call with TAU_PROVIDER_EVENT_TOO_LARGE, naming the key', async () => {
    harness = await startHarness(
      [
        {
          toolCalls: [
            { id: 'w', name: 'Write', input: { file_path: 'big.txt', content: 'z'.repeat(2 * MB) } },
          ],
          deltaChars: 4 * MB,
          chunkBytes: 4096,
        },
      ],
      { providers: { limits: { maxEventBytes: MB } } },
    )
    const { error } = await collectUntilError(harness.provider.stream(request()))
    expect(error).toMatchObject({
      code: 'TAU_PROVIDER_EVENT_TOO_LARGE',
      kind: 'event-too-large',
      retryable: false,
    })
    expect((error as Error).message).toMatch(/larger than 1 MiB \(providers\.limits\.maxEventBytes\)/)
    expect(harness.server.requests).toHaveLength(1)
  })
})
