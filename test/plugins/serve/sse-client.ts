/**
 * A Server-Sent Events client for the tests: reads `text/event-stream` over fetch (so it can send
 * the bearer token and Last-Event-ID), parses `id:`, `event:` and `data:` lines, and waits for
 * conditions with a deadline (the suite's hang limit: the end-to-end files wait on a real `tau
 * serve` on a loaded machine). Never sleeps a fixed time.
 */
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

export interface SseEvent {
  readonly id: string | undefined
  readonly event: string
  readonly data: Record<string, unknown>
}

export interface SseStream {
  readonly events: SseEvent[]
  /** Resolves with the first event (from the start) that matches; fails after the deadline. */
  waitFor(match: (event: SseEvent) => boolean, what: string, timeoutMs?: number): Promise<SseEvent>
  /** The id of the last event that had one. */
  lastId(): string | undefined
  /** True once the server ended the response. */
  readonly ended: boolean
  close(): void
}

export async function openStream(
  url: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const controller = new AbortController()
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  })
  if (!res.ok || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`)
  const events: SseEvent[] = []
  const waiters = new Set<() => void>()
  let ended = false
  let failure: unknown
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  void (async () => {
    let buffer = ''
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, at)
          buffer = buffer.slice(at + 2)
          let id: string | undefined
          let event = 'message'
          let data = ''
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4)
            else if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data += line.slice(6)
          }
          if (data !== '') events.push({ id, event, data: JSON.parse(data) as Record<string, unknown> })
        }
        for (const wake of [...waiters]) wake()
      }
    } catch (error) {
      if (!controller.signal.aborted) failure = error
    } finally {
      ended = true
      for (const wake of [...waiters]) wake()
    }
  })()
  return {
    events,
    get ended() {
      return ended
    },
    lastId: () => events.findLast((e) => e.id !== undefined)?.id,
    close: () => controller.abort(),
    waitFor(match, what, timeoutMs = HANG_LIMIT_MS) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (found) return finish(() => resolve(found))
          if (failure !== undefined) return finish(() => reject(failure))
          if (ended) return finish(() => reject(new Error(`the stream ended before ${what}`)))
        }
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `${what}: not within ${timeoutMs} ms; got ${events.map((e) => `${e.event}:${(e.data as { type?: string }).type ?? ''}`).join(', ')}`,
                ),
              ),
            ),
          timeoutMs,
        )
        const finish = (then: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          then()
        }
        waiters.add(check)
        check()
      })
    },
  }
}

/** `type` of an agent event or record. */
export const typeOf = (event: SseEvent): string => String(event.data.type ?? '')
