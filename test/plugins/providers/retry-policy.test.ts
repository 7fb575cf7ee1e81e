/**
 * The retry policy, stated and tested against a real HTTP server on loopback (node:http):
 * - up to `retries.max` (default 3) retries after the first attempt, of 429, 5xx, 529 and
 *   connection failures, never once an answer has started streaming;
 * - a server's `x-should-retry: false` is obeyed (OpenAI and Anthropic send it), `true` retries;
 * - Retry-After is waited for when it asks for a wait; `retry-after: 0` backs off instead;
 * - a refused connection to this machine fails at once (nothing is listening; it will not start
 *   in the next few seconds), with the provider's hint;
 * - every request says `user-agent: tau/<version>`.
 * (The official clients retry twice; tau three times. OpenAI's `insufficient_quota` 429 is not
 * retried: test/plugins/provider-openai/errors.test.ts.)
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  backoffDelay,
  DEFAULT_HTTP_SETTINGS,
  HttpClient,
  isLoopback,
  ProviderError,
  retryWaitMs,
  USER_AGENT,
} from '../../../plugins/providers/index.js'

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections()
      return new Promise((r) => s.close(r))
    }),
  )
})

async function serve(handler: Handler): Promise<{ url: string; attempts: () => number; agents: string[] }> {
  let attempts = 0
  const agents: string[] = []
  const server = createServer((req, res) => {
    attempts++
    agents.push(String(req.headers['user-agent']))
    req.resume()
    req.on('end', () => handler(req, res, attempts))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    attempts: () => attempts,
    agents,
  }
}

/** The default policy, with waits shrunk so the test does not sit through them. */
const defaults = {
  retries: { ...DEFAULT_HTTP_SETTINGS.retries, baseDelayMs: 1, maxDelayMs: 2 },
  timeouts: DEFAULT_HTTP_SETTINGS.timeouts,
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError)
    return error as ProviderError
  }
  throw new Error('expected the request to fail')
}

describe('retry policy', () => {
  it('default: three retries after the first attempt (four requests), then the error', async () => {
    expect(DEFAULT_HTTP_SETTINGS.retries.max).toBe(3)
    const server = await serve((_req, res) => res.writeHead(503).end('{"error":{"message":"overloaded"}}'))
    const client = new HttpClient('test', defaults)
    const error = await failureOf(client.json({ method: 'POST', url: `${server.url}/x`, body: {} }))
    expect(error).toMatchObject({ kind: 'server', status: 503 })
    expect(server.attempts()).toBe(4)
    await client.close()
  })

  it('x-should-retry: false is obeyed: one request, even for a 500', async () => {
    const server = await serve((_req, res) =>
      res.writeHead(500, { 'x-should-retry': 'false' }).end('{"error":{"message":"do not retry"}}'),
    )
    const client = new HttpClient('test', defaults)
    const error = await failureOf(client.json({ method: 'POST', url: `${server.url}/x`, body: {} }))
    expect(error).toMatchObject({ kind: 'server', status: 500, retryable: false })
    expect(server.attempts()).toBe(1)
    await client.close()
  })

  it('retry-after: 0 backs off instead of retrying at once; a positive one is waited for', () => {
    const retries = DEFAULT_HTTP_SETTINGS.retries
    const half = () => 0.5
    expect(retryWaitMs({ retryAfterSeconds: 0 }, 0, retries, half)).toBe(backoffDelay(0, retries, half))
    expect(retryWaitMs({ retryAfterSeconds: 0 }, 2, retries, half)).toBe(backoffDelay(2, retries, half))
    expect(retryWaitMs({ retryAfterSeconds: undefined }, 1, retries, half)).toBe(
      backoffDelay(1, retries, half),
    )
    expect(retryWaitMs({ retryAfterSeconds: 1.5 }, 0, retries, half)).toBe(1500)
    expect(backoffDelay(0, retries, half)).toBeGreaterThan(0)
  })

  /** One failed attempt answered with `status` and `headers`, then a success. */
  const failsOnceThenOk = (status: number, headers: Record<string, string>, message: string) =>
    serve((_req, res, attempt) => {
      if (attempt === 1) res.writeHead(status, headers).end(JSON.stringify({ error: { message } }))
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })

  it.each([
    [
      'x-should-retry: true retries a status that is otherwise final (409)',
      409,
      { 'x-should-retry': 'true' },
    ],
    ['a 429 with retry-after: 0 is still retried (after the backoff)', 429, { 'retry-after': '0' }],
  ] as const)('%s', async (_name, status, headers) => {
    const server = await failsOnceThenOk(status, headers, 'busy')
    const client = new HttpClient('test', defaults)
    await expect(client.json({ method: 'POST', url: `${server.url}/x`, body: {} })).resolves.toEqual({
      ok: true,
    })
    expect(server.attempts()).toBe(2)
    await client.close()
  })

  it('a refused connection to this machine fails at once, not retryable, with the hint', async () => {
    // A port that was just listening and is closed now: nothing is there.
    const server = await serve(() => {})
    const url = server.url
    await new Promise((r) => servers.pop()!.close(r))
    const client = new HttpClient('ollama', defaults, {
      unreachable: (origin) => `Nothing is listening at ${origin}: is \`ollama serve\` running there?`,
    })
    const error = await failureOf(client.json({ method: 'POST', url: `${url}/api/chat`, body: {} }))
    expect(error).toMatchObject({ kind: 'connection', retryable: false })
    expect(error.message).toMatch(/connection refused at http:\/\/127\.0\.0\.1:\d+/)
    expect(error.hint).toMatch(/is `ollama serve` running there\?/)
    expect(isLoopback('http://localhost:11434')).toBe(true)
    expect(isLoopback('http://[::1]:11434')).toBe(true)
    expect(isLoopback('https://api.openai.com')).toBe(false)
    await client.close()
  })

  it('every request says user-agent: tau/<version from package.json>', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    expect(USER_AGENT).toBe(`tau/${version}`)
    const server = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    )
    const client = new HttpClient('test', defaults)
    await client.json({ method: 'GET', url: `${server.url}/x` })
    expect(server.agents).toEqual([`tau/${version}`])
    await client.close()
  })
})
