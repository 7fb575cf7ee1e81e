import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createWebFetchTool,
  isPermittedRedirect,
  targetUrl,
  webFetchTool,
} from '../../../plugins/tools/builtins/webfetch.js'
import { fullGc } from '../../full-gc.js'
import { createWorkspace, textOf, type Workspace } from './builtins-context.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

// Only a loopback server: no test reaches the network.
let server: Server
let base: string
const routes = new Map<string, Handler>()
const hits: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '')
    const handler = routes.get(new URL(req.url ?? '/', 'http://x').pathname)
    if (handler) return handler(req, res)
    res.writeHead(404, { 'content-type': 'text/html' })
    res.end('<html><body><h1>Not Found</h1><p>No page at this address.</p></body></html>')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((done) => server.close(done))
})

let ws: Workspace
beforeEach(async () => {
  ws = await createWorkspace()
  routes.clear()
  hits.length = 0
})
afterEach(async () => {
  await ws.dispose()
})

const fetchPage = (
  url: string,
  prompt = 'What does the page say?',
  tool = webFetchTool,
  signal?: AbortSignal,
) => ws.run(tool, { url, prompt }, signal)

describe('WebFetch', () => {
  it('declares Claude Code parameters, annotations and the URL as permission target', () => {
    expect(webFetchTool.name).toBe('WebFetch')
    expect(webFetchTool.inputSchema.required).toEqual(['url', 'prompt'])
    expect(webFetchTool.annotations).toMatchObject({ readOnly: true, openWorld: true })
    expect(webFetchTool.permissionTarget?.({ url: 'https://example.com/a', prompt: 'p' })).toBe(
      'https://example.com/a',
    )
  })

  it('turns HTML into text and heads it with the prompt', async () => {
    routes.set('/page', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html><head><title>T</title><style>.x{color:red}</style>
        <script>var secretScript = 1</script></head>
        <body><h1>Install guide</h1><p>Run <code>npm i tau</code>, then read
        <a href="/docs">the docs</a>.</p><img src="logo.png" alt="logo"><ul><li>fast</li><li>small</li></ul>
        <p>caf\u00e9</p></body></html>`)
    })
    const out = await fetchPage(`${base}/page`, 'How is it installed?')
    expect(out.isError).toBeUndefined()
    const text = textOf(out)
    expect(text).toMatch(/^URL: http:\/\/127\.0\.0\.1:\d+\/page\n/)
    expect(text).toContain('Prompt: How is it installed?')
    expect(text).toContain('Install guide')
    expect(text).toContain('Run npm i tau, then read the docs [http://127.0.0.1:')
    expect(text).toContain('café')
    expect(text).toMatch(/\* fast\n\s*\* small/)
    expect(text).not.toContain('secretScript')
    expect(text).not.toContain('color:red')
    expect(text).not.toContain('<p>')
    expect(out.display).toMatchObject({ status: 200, truncated: false })
  })

  it('returns JSON as pretty-printed text', async () => {
    routes.set('/api', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ name: 'tau', tags: ['agent', 'runtime'] }))
    })
    const text = textOf(await fetchPage(`${base}/api`))
    expect(text).toContain('{\n  "name": "tau",\n  "tags": [\n    "agent",')
  })

  it('returns plain text as it is', async () => {
    routes.set('/plain', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('line one\n  <b>not html</b>\n')
    })
    expect(textOf(await fetchPage(`${base}/plain`))).toContain('line one\n  <b>not html</b>')
  })

  it('answers an HTTP error status with an error result', async () => {
    const out = await fetchPage(`${base}/missing`)
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/^HTTP 404 Not Found from http:\/\/127\.0\.0\.1:\d+\/missing/)
    expect(textOf(out)).toContain('No page at this address.')
    expect(out.display).toMatchObject({ status: 404 })
  })

  it('follows a redirect on the same host', async () => {
    routes.set('/old', (_req, res) => {
      res.writeHead(301, { location: '/new' })
      res.end()
    })
    routes.set('/new', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('the new page')
    })
    const out = await fetchPage(`${base}/old`)
    expect(out.isError).toBeUndefined()
    expect(textOf(out)).toContain('the new page')
    expect(textOf(out)).toMatch(/^URL: http:\/\/127\.0\.0\.1:\d+\/new/)
    expect(hits).toEqual(['/old', '/new'])
  })

  it('reports a redirect to another host instead of following it', async () => {
    const port = (server.address() as AddressInfo).port
    // localhost is another host name than 127.0.0.1, and still only loopback if it were followed.
    routes.set('/away', (_req, res) => {
      res.writeHead(302, { location: `http://localhost:${port}/elsewhere` })
      res.end()
    })
    const out = await fetchPage(`${base}/away`)
    expect(out.isError).toBeUndefined()
    const text = textOf(out)
    expect(text).toContain('redirects to a different host')
    expect(text).toContain(`Redirect URL: http://localhost:${port}/elsewhere`)
    expect(text).toContain('call WebFetch again')
    expect(out.display).toEqual({
      redirect: { from: `${base}/away`, to: `http://localhost:${port}/elsewhere`, status: 302 },
    })
    expect(hits).toEqual(['/away'])
  })

  it('stops after too many redirects', async () => {
    routes.set('/loop', (_req, res) => {
      res.writeHead(302, { location: '/loop' })
      res.end()
    })
    const out = await fetchPage(`${base}/loop`, 'p', createWebFetchTool({ maxRedirects: 3 }))
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/Too many redirects \(more than 3\)/)
    expect(hits.length).toBe(4)
  })

  it('refuses schemes other than http and https', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'data:text/plain,hi']) {
      const out = await fetchPage(url)
      expect(out.isError, url).toBe(true)
      expect(textOf(out)).toMatch(/Only http and https URLs can be fetched/)
    }
    await expect(fetchPage('not a url')).rejects.toThrow(/invalid input/)
    expect(hits).toEqual([])
  })

  it('refuses URLs with credentials', async () => {
    const out = await fetchPage(`http://user:pw@127.0.0.1:${(server.address() as AddressInfo).port}/page`)
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/user name or password/)
    expect(hits).toEqual([])
  })

  it('reads at most maxBytes of a response, and says so', async () => {
    routes.set('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      // Streamed in pieces, more than the cap.
      for (let i = 0; i < 50; i++) res.write(`${String(i).padStart(4, '0')}${'x'.repeat(995)}\n`)
      res.end()
    })
    const out = await fetchPage(`${base}/big`, 'p', createWebFetchTool({ maxBytes: 5_000 }))
    expect(out.isError).toBeUndefined()
    const text = textOf(out)
    expect(text).toContain('0000xxx')
    expect(text).not.toContain('0005xxx')
    expect(text).toContain('[The response was larger than 5000 bytes; only the first 5000 were read.]')
    expect(out.display).toMatchObject({ bytes: 5_000, truncated: true })
  })

  it('cuts page text longer than maxChars', async () => {
    routes.set('/long', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(`${'a'.repeat(300)}END`)
    })
    const text = textOf(await fetchPage(`${base}/long`, 'p', createWebFetchTool({ maxChars: 100 })))
    expect(text).toContain(`${'a'.repeat(100)}\n\n[Page text cut at 100 of 303 characters.]`)
    expect(text).not.toContain('END')
  })

  it('refuses binary content', async () => {
    routes.set('/img', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]))
    })
    routes.set('/blob', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.end(Buffer.from([1, 2, 0, 3]))
    })
    for (const path of ['/img', '/blob']) {
      const out = await fetchPage(`${base}${path}`)
      expect(out.isError, path).toBe(true)
      expect(textOf(out)).toMatch(/returned binary content/)
    }
  })

  it('times out a server that does not answer, also when the heap is collected meanwhile', async () => {
    routes.set('/slow', () => {
      // never answers; a full collection while the fetch waits (Node 20 lost an
      // AbortSignal.timeout to one: plugins/tools/deadline.ts)
      fullGc()
    })
    // The server never answers: only the tool's own timeout ends this test.
    const out = await fetchPage(`${base}/slow`, 'p', createWebFetchTool({ timeoutMs: 300 }))
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/timed out after 300 ms/)
  })

  it('stops when the turn is cancelled', async () => {
    routes.set('/slow', () => {
      // never answers
    })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const out = await fetchPage(`${base}/slow`, 'p', webFetchTool, controller.signal)
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/was cancelled/)
  })

  it('reports a connection failure as an error result', async () => {
    const closed = createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const port = (closed.address() as AddressInfo).port
    await new Promise((done) => closed.close(done))
    const out = await fetchPage(`http://127.0.0.1:${port}/`)
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(/failed: .*ECONNREFUSED/)
  })
})

describe('WebFetch redirect rule', () => {
  const u = (s: string) => new URL(s)
  it('allows the same host, also with or without www.', () => {
    expect(isPermittedRedirect(u('https://example.com/a'), u('https://example.com/b'))).toBe(true)
    expect(isPermittedRedirect(u('https://example.com/a'), u('https://www.example.com/b'))).toBe(true)
    expect(isPermittedRedirect(u('https://www.example.com/a'), u('https://example.com/b'))).toBe(true)
  })
  it('refuses another host, scheme or port', () => {
    expect(isPermittedRedirect(u('https://example.com/a'), u('https://evil.com/a'))).toBe(false)
    expect(isPermittedRedirect(u('https://example.com/a'), u('https://api.example.com/a'))).toBe(false)
    expect(isPermittedRedirect(u('https://example.com/a'), u('http://example.com/a'))).toBe(false)
    expect(isPermittedRedirect(u('https://example.com/a'), u('https://example.com:8443/a'))).toBe(false)
  })
})

describe('WebFetch URL rule', () => {
  const href = (raw: string, upgrade = true) => {
    const target = targetUrl(raw, upgrade)
    return 'url' in target ? target.url.href : target.error
  }
  it('upgrades http to https, except for loopback hosts or when turned off', () => {
    expect(href('http://example.com/a?b=1')).toBe('https://example.com/a?b=1')
    expect(href('http://example.com:8080/a')).toBe('https://example.com:8080/a')
    expect(href('https://example.com/a')).toBe('https://example.com/a')
    expect(href('http://localhost:3000/a')).toBe('http://localhost:3000/a')
    expect(href('http://127.0.0.1:3000/a')).toBe('http://127.0.0.1:3000/a')
    expect(href('http://[::1]:3000/a')).toBe('http://[::1]:3000/a')
    expect(href('http://example.com/a', false)).toBe('http://example.com/a')
  })
})
