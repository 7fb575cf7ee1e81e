/**
 * WebSearch (Claude Code's name and parameters: `query`, `allowed_domains`, `blocked_domains`):
 * searches the web through the backend `tools.webSearch` names — Brave's Search API, a SearXNG
 * instance, or Tavily — and returns the results as links with their snippets. Off until a
 * backend is configured: the result then says how to configure one. The API key is read from the
 * environment variable the config names at each call and goes only into the request's header or
 * body, never into a result, an error or a log line.
 */
import { z } from 'zod'
import type { WebSearchConfig } from '../config.js'
import { deadline } from '../deadline.js'
import { defineTool } from '../registry.js'
import type { Tool, ToolOutput } from '../tool.js'
import { toolUseError } from '../tool-errors.js'
import { builtJsonSchema } from './defaults.js'

export interface SearchResult {
  readonly title: string
  readonly url: string
  readonly snippet: string
}

/** The environment variable each backend's key is read from when `apiKeyEnv` is not set. */
export const DEFAULT_KEY_ENV = {
  brave: 'BRAVE_API_KEY',
  tavily: 'TAVILY_API_KEY',
  searxng: undefined,
} as const

const DEFAULT_ENDPOINT = {
  brave: 'https://api.search.brave.com/res/v1/web/search',
  tavily: 'https://api.tavily.com/search',
} as const

const TIMEOUT_MS = 30_000

const DESCRIPTION = `Searches the web and returns the results: titles, links and snippets. Use it for information newer than your knowledge or that you need to check (current versions, recent events, documentation).

- allowed_domains keeps only results from those domains; blocked_domains drops results from them (not both in one call). A domain also covers its subdomains.
- After answering from the results, list the sources you used as markdown links.
- Include the current year in queries about recent things.`

const domain = z.string().min(1)
const input = z
  .object({
    query: z.string().min(2).describe('The search query'),
    allowed_domains: z.array(domain).optional().describe('Only include results from these domains'),
    blocked_domains: z.array(domain).optional().describe('Never include results from these domains'),
  })
  .refine((v) => !(v.allowed_domains?.length && v.blocked_domains?.length), {
    message: 'give allowed_domains or blocked_domains, not both',
    path: ['blocked_domains'],
  })

export type WebSearchInput = z.infer<typeof input>

/** Whether `url`'s host is `domain` or one of its subdomains. */
function onDomain(url: string, domains: readonly string[]): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  return domains.some((d) => {
    const bare = d
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/.*$/, '')
      .replace(/^\*\./, '')
    return host === bare || host.endsWith(`.${bare}`)
  })
}

class SearchError extends Error {}

const asText = (value: unknown): string => (typeof value === 'string' ? value : '')

/** One backend's request and the results out of its JSON. */
async function search(
  config: WebSearchConfig & { provider: NonNullable<WebSearchConfig['provider']> },
  call: WebSearchInput,
  key: string | undefined,
  signal: AbortSignal,
): Promise<SearchResult[]> {
  const limit = config.maxResults
  let url: URL
  let init: RequestInit
  if (config.provider === 'brave') {
    url = new URL(config.endpoint ?? DEFAULT_ENDPOINT.brave)
    url.searchParams.set('q', call.query)
    url.searchParams.set('count', String(Math.min(limit, 20)))
    init = { headers: { accept: 'application/json', 'x-subscription-token': key ?? '' } }
  } else if (config.provider === 'tavily') {
    url = new URL(config.endpoint ?? DEFAULT_ENDPOINT.tavily)
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key ?? ''}` },
      body: JSON.stringify({
        query: call.query,
        max_results: limit,
        ...(call.allowed_domains?.length ? { include_domains: call.allowed_domains } : {}),
        ...(call.blocked_domains?.length ? { exclude_domains: call.blocked_domains } : {}),
      }),
    }
  } else {
    // SearXNG's JSON API (the instance must allow `format=json`).
    url = new URL('search', `${config.endpoint!.replace(/\/+$/, '')}/`)
    url.searchParams.set('q', call.query)
    url.searchParams.set('format', 'json')
    init = { headers: { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } }
  }
  const where = `${config.provider} at ${url.origin}${url.pathname}`
  // The limit covers the body too; cleared once it is read (or the request failed).
  const timeout = deadline(signal, TIMEOUT_MS)
  try {
    return await fetchResults(config.provider, url, { ...init, signal: timeout.signal }, signal, where)
  } finally {
    timeout.clear()
  }
}

async function fetchResults(
  provider: NonNullable<WebSearchConfig['provider']>,
  url: URL,
  init: RequestInit,
  signal: AbortSignal,
  where: string,
): Promise<SearchResult[]> {
  let response: Response
  try {
    response = await fetch(url, init)
  } catch (error) {
    if (signal.aborted) throw new SearchError('Cancelled.')
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
    throw new SearchError(`The search backend (${where}) could not be reached: ${cause}.`)
  }
  if (!response.ok) {
    const auth = response.status === 401 || response.status === 403
    throw new SearchError(
      `The search backend (${where}) answered HTTP ${response.status}${auth ? ': the API key was refused; check the key in the environment variable tools.webSearch names' : ''}.`,
    )
  }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    throw new SearchError(`The search backend (${where}) did not answer JSON.`)
  }
  const raw =
    provider === 'brave'
      ? (body as { web?: { results?: unknown } }).web?.results
      : (body as { results?: unknown }).results
  if (raw !== undefined && !Array.isArray(raw))
    throw new SearchError(`The search backend (${where}) answered JSON without a results list.`)
  return ((raw ?? []) as Array<Record<string, unknown>>)
    .map((r) => ({
      title: asText(r.title),
      url: asText(r.url),
      snippet: asText(provider === 'brave' ? r.description : r.content)
        .replace(/<\/?strong>/g, '')
        .trim(),
    }))
    .filter((r) => r.url !== '')
}

/** The text the model reads: Claude Code's heading and links list, then each result's snippet. */
export function resultsText(query: string, results: readonly SearchResult[]): string {
  const links = JSON.stringify(results.map((r) => ({ title: r.title, url: r.url })))
  const lines = results.map(
    (r, i) => `${i + 1}. ${r.title || r.url}\n   ${r.url}${r.snippet ? `\n   ${r.snippet}` : ''}`,
  )
  return [
    `Web search results for query: "${query}"`,
    `Links: ${links}`,
    results.length === 0 ? 'No results.' : lines.join('\n\n'),
    'REMINDER: cite the sources you use from these results as markdown links.',
  ].join('\n\n')
}

/**
 * `env` is where the key is read from at each call: the kernel's env (PluginContext.env) in the
 * tools plugin, so an embedder's kernel uses its own key; process.env when none is given.
 */
export function createWebSearchTool(
  config: WebSearchConfig,
  env: NodeJS.ProcessEnv = process.env,
): Tool<WebSearchInput> {
  return defineTool({
    name: 'WebSearch',
    jsonSchema: builtJsonSchema('WebSearch'),
    description: DESCRIPTION,
    input,
    annotations: { readOnly: true, openWorld: true },
    permissionTarget: (call) => call.query,
    async execute(call, ctx): Promise<ToolOutput> {
      const fail = (text: string): ToolOutput => ({
        content: [{ type: 'text', text: toolUseError(text) }],
        isError: true,
      })
      const provider = config.provider
      if (provider === undefined)
        return fail(
          'WebSearch is off: no search backend is configured. Set tools.webSearch in tau.config.ts, e.g. { provider: "brave" } with BRAVE_API_KEY set, { provider: "tavily" } with TAVILY_API_KEY, or { provider: "searxng", endpoint: "http://localhost:8888" }. Until then, answer without searching or use WebFetch on a known URL.',
        )
      const keyEnv = config.apiKeyEnv ?? DEFAULT_KEY_ENV[provider]
      const key = keyEnv === undefined ? undefined : env[keyEnv]
      if (keyEnv !== undefined && provider !== 'searxng' && (key === undefined || key === ''))
        return fail(
          `WebSearch needs an API key for ${provider}: the environment variable ${keyEnv} is not set. Set it for tau (or name another variable in tools.webSearch.apiKeyEnv).`,
        )
      let results: SearchResult[]
      try {
        results = await search({ ...config, provider }, call, key, ctx.signal)
      } catch (error) {
        if (error instanceof SearchError) return fail(error.message)
        throw error
      }
      if (call.allowed_domains?.length)
        results = results.filter((r) => onDomain(r.url, call.allowed_domains!))
      if (call.blocked_domains?.length)
        results = results.filter((r) => !onDomain(r.url, call.blocked_domains!))
      results = results.slice(0, config.maxResults)
      return {
        content: [{ type: 'text', text: resultsText(call.query, results) }],
        display: { provider, query: call.query, results: results.length },
      }
    },
  })
}
