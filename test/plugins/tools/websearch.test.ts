/**
 * WebSearch against a node:http server on 127.0.0.1 that answers with each backend's real JSON
 * shape (Brave's web.results, SearXNG's and Tavily's results): the query and key reach the
 * backend as it expects them, the results come back as links and snippets, domains are filtered,
 * the key never appears in a result, and an unconfigured or keyless search says what to set.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createWebSearchTool, toolsConfig } from '../../../plugins/tools/index.js'
import { createWorkspace, textOf, type Workspace } from './builtins-context.js'

interface Seen {
  method: string
  url: URL
  headers: IncomingMessage['headers']
  body: string
}
const seen: Seen[] = []
let status = 200
let server: Server
let base = ''

const hits = [
  { title: 'Node.js 22 release', url: 'https://nodejs.org/en/blog/release/v22.0.0', text: 'Node 22 is out' },
  { title: 'Mirror', url: 'https://mirror.example.com/node22', text: 'a copy' },
  { title: 'Docs', url: 'https://docs.nodejs.org/api', text: 'API docs' },
]

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      seen.push({ method: req.method ?? '', url, headers: req.headers, body })
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      if (status !== 200) return res.end('{"error":"nope"}')
      if (url.pathname === '/res/v1/web/search')
        return res.end(
          JSON.stringify({
            type: 'search',
            web: {
              type: 'search',
              results: hits.map((h) => ({
                title: h.title,
                url: h.url,
                description: `<strong>${h.text}</strong>`,
              })),
            },
          }),
        )
      return res.end(
        JSON.stringify({
          query: 'q',
          results: hits.map((h) => ({ title: h.title, url: h.url, content: h.text, score: 0.9 })),
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

let ws: Workspace
beforeEach(async () => {
  ws = await createWorkspace()
  seen.length = 0
  status = 200
  process.env.TAU_TEST_SEARCH_KEY = 'sk-search-secret-123'
})
afterEach(async () => {
  delete process.env.TAU_TEST_SEARCH_KEY
  await ws.dispose()
})

const tool = (webSearch: Record<string, unknown>) =>
  createWebSearchTool(toolsConfig.parse({ webSearch }).webSearch)

describe('WebSearch', () => {
  it('brave: GET with q and the key in X-Subscription-Token; results as links and snippets, the key nowhere', async () => {
    const t = tool({
      provider: 'brave',
      endpoint: `${base}/res/v1/web/search`,
      apiKeyEnv: 'TAU_TEST_SEARCH_KEY',
    })
    const out = await ws.run(t, { query: 'node 22 release' })
    expect(out.isError).toBeUndefined()
    expect(seen).toHaveLength(1)
    expect(seen[0]!.url.searchParams.get('q')).toBe('node 22 release')
    expect(seen[0]!.headers['x-subscription-token']).toBe('sk-search-secret-123')
    const text = textOf(out)
    expect(text.split('\n\n')[0]).toBe('Web search results for query: "node 22 release"')
    expect(text).toContain(`Links: ${JSON.stringify(hits.map((h) => ({ title: h.title, url: h.url })))}`)
    expect(text).toContain(
      '1. Node.js 22 release\n   https://nodejs.org/en/blog/release/v22.0.0\n   Node 22 is out',
    )
    expect(JSON.stringify(out)).not.toContain('sk-search-secret-123')
  })

  it('searxng: GET /search?format=json on the instance; allowed_domains keeps a domain and its subdomains', async () => {
    const t = tool({ provider: 'searxng', endpoint: base })
    const out = await ws.run(t, { query: 'node', allowed_domains: ['nodejs.org'] })
    expect(seen[0]!.url.pathname).toBe('/search')
    expect(seen[0]!.url.searchParams.get('format')).toBe('json')
    const text = textOf(out)
    expect(text).toContain('https://nodejs.org/en/blog/release/v22.0.0')
    expect(text).toContain('https://docs.nodejs.org/api')
    expect(text).not.toContain('mirror.example.com')
  })

  it('tavily: POST with the key as a bearer token and the domains passed on; blocked_domains drops results', async () => {
    const t = tool({
      provider: 'tavily',
      endpoint: `${base}/search`,
      apiKeyEnv: 'TAU_TEST_SEARCH_KEY',
      maxResults: 5,
    })
    const out = await ws.run(t, { query: 'node', blocked_domains: ['example.com'] })
    expect(seen[0]!.method).toBe('POST')
    expect(seen[0]!.headers.authorization).toBe('Bearer sk-search-secret-123')
    expect(JSON.parse(seen[0]!.body)).toEqual({
      query: 'node',
      max_results: 5,
      exclude_domains: ['example.com'],
    })
    expect(textOf(out)).not.toContain('mirror.example.com')
    expect(textOf(out)).toContain('nodejs.org')
  })

  it('unconfigured, it is off and says how to configure a backend; nothing is requested', async () => {
    const out = await ws.run(tool({}), { query: 'anything' })
    expect(out.isError).toBe(true)
    expect(textOf(out)).toMatch(
      /^<tool_use_error>WebSearch is off: no search backend is configured\. Set tools\.webSearch/,
    )
    expect(seen).toEqual([])
  })

  it('a missing key names the variable; a refused key says so without showing it', async () => {
    const missing = await ws.run(
      tool({ provider: 'brave', endpoint: `${base}/res/v1/web/search`, apiKeyEnv: 'TAU_TEST_NO_SUCH_KEY' }),
      {
        query: 'x y',
      },
    )
    expect(textOf(missing)).toContain('the environment variable TAU_TEST_NO_SUCH_KEY is not set')
    expect(seen).toEqual([])
    status = 401
    const refused = await ws.run(
      tool({ provider: 'brave', endpoint: `${base}/res/v1/web/search`, apiKeyEnv: 'TAU_TEST_SEARCH_KEY' }),
      {
        query: 'x y',
      },
    )
    expect(refused.isError).toBe(true)
    expect(textOf(refused)).toContain('answered HTTP 401: the API key was refused')
    expect(JSON.stringify(refused)).not.toContain('sk-search-secret-123')
  })

  it('config: searxng needs an endpoint; both domain lists at once are refused', async () => {
    const bad = toolsConfig.safeParse({ webSearch: { provider: 'searxng' } })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.path).toEqual(['webSearch', 'endpoint'])
    const t = tool({ provider: 'searxng', endpoint: base })
    const checked = await t.input['~standard'].validate({
      query: 'x y',
      allowed_domains: ['a.com'],
      blocked_domains: ['b.com'],
    })
    expect(checked.issues?.[0]?.message).toBe('give allowed_domains or blocked_domains, not both')
  })
})
