/**
 * WebSearch through the real binary: `tau start -p` against a scripted Anthropic server and a
 * loopback stand-in of Brave's Search API (node:http answering Brave's real JSON shape). The
 * query and key reach the backend as Brave expects them; `allowed_domains` / `blocked_domains`
 * filter what the model reads; a `deny: ["WebSearch"]` rule refuses the call before any request;
 * a `WebSearch(...)` rule matches the query; the API key is in none of stdout, stderr or the
 * session's files.
 */
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScriptTurn } from '../../plugins/provider-scripted/index.js'
import { type ScriptedServer, startScriptedServer } from '../../plugins/provider-scripted/server.js'
import { useProjects } from './run-tau.js'

const KEY = 'sk-brave-e2e-secret-7431'
const project = useProjects()
const closers: Array<() => unknown> = []

interface Seen {
  readonly url: URL
  readonly headers: IncomingMessage['headers']
}
const seen: Seen[] = []
let backend: Server
let base = ''

const hits = [
  { title: 'Node.js 22 release', url: 'https://nodejs.org/en/blog/release/v22.0.0', text: 'Node 22 is out' },
  { title: 'Mirror', url: 'https://mirror.example.com/node22', text: 'a copy' },
  { title: 'Docs', url: 'https://docs.nodejs.org/api', text: 'API docs' },
]

beforeAll(async () => {
  backend = createServer((req, res) => {
    seen.push({ url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers })
    req.resume()
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        type: 'search',
        query: { original: 'q' },
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
  })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  await new Promise<void>((resolve) => backend.close(() => resolve()))
})

async function fixture(turns: ScriptTurn[], files: Record<string, string> = {}) {
  const p = await project(files)
  const server = await startScriptedServer({ format: 'anthropic', script: turns })
  closers.push(() => server.close())
  await p.write({
    // JSON, not tau.config.ts: the config's form is not under test (jiti costs ~0.45 s of CPU).
    'tau.config.json': JSON.stringify({
      preset: 'coding',
      model: 'anthropic:scripted-model',
      providers: { anthropic: { baseURL: server.url, apiKey: 'sk-ant-test' }, retries: { max: 0 } },
      tools: {
        webSearch: {
          provider: 'brave',
          endpoint: `${base}/res/v1/web/search`,
          apiKeyEnv: 'TAU_E2E_SEARCH_KEY',
        },
      },
      sandbox: { mode: 'off' },
    }),
  })
  const run = (args: readonly string[]) =>
    p.run(['start', '-p', 'search', '--output-format', 'stream-json', '--verbose', ...args], {
      env: { TAU_E2E_SEARCH_KEY: KEY },
    })
  return { p, server, run }
}

type Line = Record<string, unknown>
const lines = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line)

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : (content as Array<{ type: string; text?: string }>).map((b) => b.text ?? '').join('')

/** The tool_result blocks the model was sent, by tool_use_id (the last request has them all). */
function sentResults(server: ScriptedServer): Map<string, string> {
  const found = new Map<string, string>()
  for (const r of server.requests.filter((r) => r.path.startsWith('/v1/messages')))
    for (const m of (r.body as { messages: Array<{ content: unknown }> }).messages)
      for (const b of Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : [])
        if (b.type === 'tool_result') found.set(String(b.tool_use_id), textOf(b.content))
  return found
}

/** Every file under `dir`, with its text. */
async function filesUnder(dir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out.push([path, await readFile(path, 'utf8')])
  }
  return out
}

describe('WebSearch through the binary', () => {
  it('searches the backend with the key; the domain filters apply; the key is never printed or stored', async () => {
    seen.length = 0
    const { p, server, run } = await fixture([
      {
        toolCalls: [
          {
            id: 'toolu_s1',
            name: 'WebSearch',
            input: { query: 'node 22 release', allowed_domains: ['nodejs.org'] },
          },
          {
            id: 'toolu_s2',
            name: 'WebSearch',
            input: { query: 'node 22 mirror', blocked_domains: ['nodejs.org'] },
          },
        ],
      },
      { text: 'Node 22 is out.' },
    ])
    const result = await run(['--allowed-tools', 'WebSearch'])
    expect(result.code, result.stderr).toBe(0)
    // Brave's request: the query in q, the key in its header.
    expect(seen.map((s) => s.url.searchParams.get('q')).sort()).toEqual(['node 22 mirror', 'node 22 release'])
    for (const s of seen) expect(s.headers['x-subscription-token']).toBe(KEY)

    const sent = sentResults(server)
    const allowed = sent.get('toolu_s1')!
    expect(allowed).toContain('Web search results for query: "node 22 release"')
    expect(allowed).toContain('https://nodejs.org/en/blog/release/v22.0.0')
    expect(allowed).toContain('https://docs.nodejs.org/api')
    expect(allowed).not.toContain('mirror.example.com')
    const blocked = sent.get('toolu_s2')!
    expect(blocked).toContain('https://mirror.example.com/node22')
    expect(blocked).not.toContain('nodejs.org')

    expect(result.stdout).not.toContain(KEY)
    expect(result.stderr).not.toContain(KEY)
    const stored = await filesUnder(p.tauHome)
    expect(stored.some(([, text]) => text.includes('node 22 release'))).toBe(true)
    for (const [path, text] of stored) expect(text.includes(KEY), path).toBe(false)
    for (const request of server.requests) expect(JSON.stringify(request.body ?? null)).not.toContain(KEY)
  })

  it('a deny: ["WebSearch"] rule refuses it before any request; it is a denial in the result', async () => {
    seen.length = 0
    const { server, run } = await fixture(
      [
        { toolCalls: [{ id: 'toolu_d1', name: 'WebSearch', input: { query: 'anything at all' } }] },
        { text: 'I could not search.' },
      ],
      { '.claude/settings.json': JSON.stringify({ permissions: { deny: ['WebSearch'] } }) },
    )
    // The allow flag loses to the deny rule.
    const result = await run(['--allowed-tools', 'WebSearch'])
    expect(result.code, result.stderr).toBe(0)
    expect(seen).toEqual([])
    const out = lines(result.stdout)
    expect(out.at(-1)!.permission_denials).toEqual([
      { tool_name: 'WebSearch', tool_use_id: 'toolu_d1', tool_input: { query: 'anything at all' } },
    ])
    expect(sentResults(server).get('toolu_d1')).toContain('Permission to use WebSearch was denied')
  })

  it('a WebSearch(...) rule matches the query: an allow rule runs what it names, a headless run denies the rest', async () => {
    seen.length = 0
    const { server, run } = await fixture([
      {
        toolCalls: [
          { id: 'toolu_a1', name: 'WebSearch', input: { query: 'node 22 release' } },
          { id: 'toolu_a2', name: 'WebSearch', input: { query: 'python 3.14 release' } },
        ],
      },
      { text: 'done' },
    ])
    const result = await run(['--allowed-tools', 'WebSearch(node *)'])
    expect(result.code, result.stderr).toBe(0)
    expect(seen.map((s) => s.url.searchParams.get('q'))).toEqual(['node 22 release'])
    expect(sentResults(server).get('toolu_a1')).toContain('https://nodejs.org/en/blog/release/v22.0.0')
    expect(lines(result.stdout).at(-1)!.permission_denials).toEqual([
      { tool_name: 'WebSearch', tool_use_id: 'toolu_a2', tool_input: { query: 'python 3.14 release' } },
    ])
  })
})
