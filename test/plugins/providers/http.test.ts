/**
 * The shared HTTP client against a real HTTP server on loopback (node:http), no mocks:
 * retries, Retry-After, timeouts, refused connections and streams cut mid-way.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { backoffDelay, HttpClient, parseRetryAfter, readText } from '../../../plugins/providers/index.js'

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

async function serve(handler: Handler): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0
  const server = createServer((req, res) => {
    attempts++
    req.resume()
    req.on('end', () => handler(req, res, attempts))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts: () => attempts }
}

const fast = {
  retries: { max: 3, baseDelayMs: 5, maxDelayMs: 50 },
  timeouts: { connectMs: 1_000, firstByteMs: 2_000, idleMs: 2_000 },
}

describe('HttpClient', () => {
  it('retries a 429 honouring Retry-After, then returns the answer', async () => {
    const started = Date.now()
    const server = await serve((_req, res, attempt) => {
      if (attempt === 1)
        res
          .writeHead(429, { 'retry-after': '0.2', 'content-type': 'application/json' })
          .end('{"error":{"message":"slow down"}}')
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
    const client = new HttpClient('test', fast)
    await expect(client.json({ method: 'POST', url: `${server.url}/x`, body: {} })).resolves.toEqual({
      ok: true,
    })
    expect(server.attempts()).toBe(2)
    // Retry-After (200 ms) was waited for, not the 5 ms backoff.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    await client.close()
  })

  it('gives up after the allowed retries with a rate-limit error', async () => {
    const server = await serve((_req, res) => res.writeHead(429).end('{"error":{"message":"quota"}}'))
    const client = new HttpClient('test', fast)
    await expect(client.json({ method: 'GET', url: server.url })).rejects.toMatchObject({
      code: 'TAU_PROVIDER_RATE_LIMIT',
      kind: 'rate-limit',
      status: 429,
      message: 'test: rate limited (HTTP 429): quota',
    })
    expect(server.attempts()).toBe(4)
    await client.close()
  })

  it('retries 5xx but not 4xx', async () => {
    const flaky = await serve((_req, res, attempt) =>
      attempt < 3 ? res.writeHead(503).end('busy') : res.writeHead(200).end('{"n":3}'),
    )
    const client = new HttpClient('test', fast)
    await expect(client.json({ method: 'GET', url: flaky.url })).resolves.toEqual({ n: 3 })
    const bad = await serve((_req, res) =>
      res.writeHead(400).end('{"error":{"message":"no such parameter: foo"}}'),
    )
    await expect(client.json({ method: 'GET', url: bad.url })).rejects.toMatchObject({
      kind: 'bad-request',
      status: 400,
    })
    expect(bad.attempts()).toBe(1)
    await client.close()
  })

  it('maps 401 to an auth error naming the key variable, and 404 with the provider hint', async () => {
    const server = await serve((req, res) =>
      res.writeHead(req.url === '/auth' ? 401 : 404).end('{"error":"model \\"x\\" not found"}'),
    )
    const client = new HttpClient('test', fast, {
      authVariable: 'TEST_API_KEY',
      notFound: () => 'pull it first',
    })
    await expect(client.json({ method: 'GET', url: `${server.url}/auth` })).rejects.toMatchObject({
      kind: 'auth',
      hint: expect.stringContaining('TEST_API_KEY'),
    })
    await expect(client.json({ method: 'GET', url: `${server.url}/missing` })).rejects.toMatchObject({
      kind: 'model-not-found',
      hint: 'pull it first',
      message: 'test: not found (HTTP 404): model "x" not found',
    })
    await client.close()
  })

  it('recognises a context-length error in a 400', async () => {
    const server = await serve((_req, res) =>
      res
        .writeHead(400)
        .end(
          '{"error":{"message":"This model\'s maximum context length is 8192 tokens","code":"context_length_exceeded"}}',
        ),
    )
    const client = new HttpClient('test', fast)
    await expect(client.json({ method: 'POST', url: server.url, body: {} })).rejects.toMatchObject({
      code: 'TAU_PROVIDER_CONTEXT_LENGTH',
    })
    await client.close()
  })

  it('times out a slow first byte', async () => {
    // undici's timers tick about twice a second: the timeout fires within ~1 s, well before 4 s.
    const server = await serve((_req, res) => setTimeout(() => res.writeHead(200).end('{}'), 4_000))
    const client = new HttpClient('test', {
      ...fast,
      retries: { ...fast.retries, max: 0 },
      timeouts: { ...fast.timeouts, firstByteMs: 200 },
    })
    await expect(client.json({ method: 'GET', url: server.url })).rejects.toMatchObject({
      code: 'TAU_PROVIDER_TIMEOUT',
      message: expect.stringContaining('no answer from'),
    })
    await client.close()
  })

  it('reports a refused connection with the provider hint', async () => {
    const server = await serve((_req, res) => res.end())
    const url = server.url
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
    const client = new HttpClient(
      'test',
      { ...fast, retries: { ...fast.retries, max: 1 } },
      {
        unreachable: (origin) => `is the server running at ${origin}?`,
      },
    )
    await expect(client.json({ method: 'GET', url })).rejects.toMatchObject({
      code: 'TAU_PROVIDER_CONNECTION',
      hint: `is the server running at ${url}?`,
    })
    await client.close()
  })

  it('does not retry a stream cut after it began, and says so', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: one\n\n')
      setTimeout(() => res.socket?.destroy(), 30)
    })
    const client = new HttpClient('test', fast)
    const response = await client.send({ method: 'POST', url: server.url, body: {} })
    await expect(readText(response.body)).rejects.toMatchObject({
      kind: 'connection',
      retryable: false,
      message: expect.stringContaining('while the answer was streaming'),
    })
    expect(server.attempts()).toBe(1)
    await client.close()
  })

  it('aborts a request at once, also while waiting to retry', async () => {
    // A wait of nearly the client's longest (60 s): an abort that did not interrupt it would end
    // as the 503 after it, not as aborted.
    const server = await serve((_req, res) => res.writeHead(503, { 'retry-after': '59' }).end())
    const client = new HttpClient('test', fast)
    const controller = new AbortController()
    const pending = client.json({ method: 'GET', url: server.url, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toMatchObject({ kind: 'aborted' })
    await client.close()
  })

  it('hands over a large body whole and in order to a slow reader (undici paused and resumed)', async () => {
    // 4 MB in 64 KB writes: far past what the body buffers before it tells undici to pause.
    const piece = Buffer.alloc(64 * 1024)
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      let sent = 0
      const more = () => {
        while (sent < 64) {
          piece.fill(sent % 251)
          sent++
          if (!res.write(Buffer.from(piece))) return void res.once('drain', more)
        }
        res.end()
      }
      more()
    })
    const client = new HttpClient('test', fast)
    const response = await client.send({ method: 'GET', url: server.url })
    let bytes = 0
    let inOrder = true
    for await (const chunk of response.body) {
      for (let i = 0; i < chunk.length; i += 4096) {
        if (chunk[i] !== Math.floor((bytes + i) / piece.length) % 251) inOrder = false
      }
      bytes += chunk.length
      // A reader slower than the socket.
      if (bytes % (512 * 1024) < chunk.length) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(bytes).toBe(64 * piece.length)
    expect(inOrder).toBe(true)
    await client.close()
  })

  it('a reader that stops early releases the request, and the next request still works', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        const timer = setInterval(() => res.write('data: tick\n\n'), 5)
        res.on('close', () => clearInterval(timer))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
    const client = new HttpClient('test', fast)
    const response = await client.send({ method: 'GET', url: `${server.url}/endless` })
    for await (const _chunk of response.body) break
    await expect(client.json({ method: 'GET', url: `${server.url}/x` })).resolves.toEqual({ ok: true })
    await client.close()
  })

  it('an abort while the body streams ends the reader with an aborted error, never retried', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: one\n\n')
    })
    const client = new HttpClient('test', fast)
    const controller = new AbortController()
    const response = await client.send({
      method: 'POST',
      url: server.url,
      body: {},
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(), 30)
    await expect(readText(response.body)).rejects.toMatchObject({ kind: 'aborted', retryable: false })
    expect(server.attempts()).toBe(1)
    await client.close()
  })

  it('reuses one keep-alive connection for sequential requests', async () => {
    let sockets = 0
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(200).end('{}'))
    })
    server.on('connection', () => sockets++)
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const client = new HttpClient('test', fast)
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    for (let i = 0; i < 10; i++) await client.json({ method: 'GET', url })
    expect(sockets).toBe(1)
    await client.close()
  })
})

describe('retry timing helpers', () => {
  it('parses Retry-After as seconds, an HTTP date, or retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3)
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5)
    expect(parseRetryAfter({ 'retry-after-ms': '250' }, now)).toBe(0.25)
    expect(parseRetryAfter({}, now)).toBeUndefined()
  })

  it('backs off exponentially with jitter, capped', () => {
    const settings = { max: 5, baseDelayMs: 100, maxDelayMs: 1_000 }
    expect(backoffDelay(0, settings, () => 0)).toBe(50)
    expect(backoffDelay(0, settings, () => 1)).toBe(100)
    expect(backoffDelay(3, settings, () => 1)).toBe(800)
    expect(backoffDelay(10, settings, () => 1)).toBe(1_000)
  })
})
