/**
 * WebFetch: fetches a URL with undici and returns its text (HTML turned into plain text), headed
 * by the caller's prompt so the model applies it. There is no secondary model call in this
 * version: the page text itself is the result, cut to a cap.
 *
 * Redirects on the same host (ignoring a leading `www.`, same scheme and port) are followed; a
 * redirect to another host is reported instead, so the permission check runs again for the new
 * host when the model fetches it. http is upgraded to https except for loopback hosts.
 */
import { z } from 'zod'
import { deadline } from '../deadline.js'
import { defineTool } from '../registry.js'
import type { Tool, ToolContext, ToolOutput } from '../tool.js'
import { areDefaults, builtJsonSchema } from './defaults.js'

export interface WebFetchToolOptions {
  /** The whole fetch, redirects and body included. Default 30 s. */
  readonly timeoutMs?: number
  /** Bytes read from a response body at most; the rest is dropped with a note. Default 10 MiB. */
  readonly maxBytes?: number
  /** Characters of page text returned at most. Default 100 000. */
  readonly maxChars?: number
  /** Same-host redirects followed at most. Default 10. */
  readonly maxRedirects?: number
  /** Upgrade http:// to https:// (never for loopback hosts). Default true. */
  readonly upgradeHttp?: boolean
  readonly userAgent?: string
}

const DEFAULTS = {
  timeoutMs: 30_000,
  maxBytes: 10 * 1024 * 1024,
  maxChars: 100_000,
  maxRedirects: 10,
  upgradeHttp: true,
  userAgent: 'tau-WebFetch/0.1 (+https://github.com/tau)',
} as const

type Settings = Required<WebFetchToolOptions>

/** Characters of an error page's text shown with an HTTP error. */
const ERROR_BODY_CHARS = 1_000
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

const DESCRIPTION = `Fetches a web page and returns its content as text, for you to answer the prompt from.

- url must be a full http(s) URL; http is upgraded to https (except for localhost).
- HTML is turned into plain text (links kept as [url]); JSON and other text are returned as they are. Binary content (images, PDFs, archives) is refused.
- prompt says what you want from the page; it is returned as a header above the page text, and you apply it yourself.
- When the URL redirects to a different host, the tool does not follow it: it tells you the new URL, and you call WebFetch again with it.
- Long pages are cut; private or authenticated pages will fail.`

export interface WebFetchInput {
  url: string
  prompt: string
}

export function createWebFetchTool(options: WebFetchToolOptions = {}): Tool<WebFetchInput> {
  const settings: Settings = { ...DEFAULTS, ...options }
  return defineTool({
    name: 'WebFetch',
    jsonSchema: areDefaults(settings, DEFAULTS) ? builtJsonSchema('WebFetch') : undefined,
    description: DESCRIPTION,
    input: z.object({
      url: z.url().describe('The URL to fetch (http or https)'),
      prompt: z.string().describe('What to look for or extract from the page'),
    }),
    annotations: { readOnly: true, openWorld: true },
    permissionTarget: (call) => call.url,
    execute: (call, ctx) => webFetch(call, ctx, settings),
  })
}

/** The WebFetch tool with its defaults. */
export const webFetchTool = createWebFetchTool()

async function webFetch(call: WebFetchInput, ctx: ToolContext, settings: Settings): Promise<ToolOutput> {
  const target = targetUrl(call.url, settings.upgradeHttp)
  if ('error' in target) return failure(target.error)
  const url = target.url

  const limit = deadline(ctx.signal, settings.timeoutMs)
  try {
    return await fetchFollowing(url, call.prompt, limit.signal, ctx, settings)
  } catch (error) {
    if (ctx.signal.aborted) return failure(`Fetching ${url.href} was cancelled.`)
    if (limit.signal.aborted) return failure(`Fetching ${url.href} timed out after ${settings.timeoutMs} ms.`)
    return failure(`Fetching ${url.href} failed: ${describeError(error)}`)
  } finally {
    limit.clear()
  }
}

async function fetchFollowing(
  start: URL,
  prompt: string,
  signal: AbortSignal,
  ctx: ToolContext,
  settings: Settings,
): Promise<ToolOutput> {
  const { fetch } = await import('undici')
  let url = start
  for (let hop = 0; ; hop++) {
    const response = await fetch(url, {
      redirect: 'manual',
      signal,
      headers: {
        accept: 'text/html, application/xhtml+xml, text/markdown, text/plain, application/json, */*;q=0.8',
        'user-agent': settings.userAgent,
      },
    })
    const location = response.headers.get('location')
    if (REDIRECT_STATUSES.has(response.status) && location) {
      await response.body?.cancel().catch(() => undefined)
      let next: URL
      try {
        next = new URL(location, url)
      } catch {
        return failure(`${url.href} redirected to an invalid URL: ${location}`)
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        return failure(`${url.href} redirected to a non-http URL, which is not followed: ${next.href}`)
      }
      if (!isPermittedRedirect(url, next)) return redirectReport(start, url, next, response)
      if (hop >= settings.maxRedirects) {
        return failure(`Too many redirects (more than ${settings.maxRedirects}) starting at ${start.href}.`)
      }
      ctx.progress(`Redirected to ${next.href}`)
      url = next
      continue
    }

    const contentType = response.headers.get('content-type') ?? ''
    const body = await readCapped(response.body, settings.maxBytes)
    if (response.status >= 400) {
      const text = decode(body.bytes, contentType)
      const shown = isHtml(contentType) ? await htmlToText(text, url.href) : text
      const snippet = shown.trim().slice(0, ERROR_BODY_CHARS)
      return failure(
        `HTTP ${response.status} ${response.statusText} from ${url.href}${snippet ? `\n\n${snippet}` : ''}`,
        { url: url.href, status: response.status },
      )
    }
    if (isBinary(contentType, body.bytes)) {
      return failure(
        `${url.href} returned binary content (${contentType || 'unknown type'}); WebFetch returns text only.`,
        { url: url.href, status: response.status, contentType },
      )
    }
    return pageResult({ url, prompt, status: response.status, contentType, body, settings })
  }
}

async function pageResult(page: {
  url: URL
  prompt: string
  status: number
  contentType: string
  body: { bytes: Buffer; truncated: boolean }
  settings: Settings
}): Promise<ToolOutput> {
  const { url, prompt, status, contentType, body, settings } = page
  const raw = decode(body.bytes, contentType)
  let text: string
  if (isHtml(contentType) || (!contentType && /^\s*<(!doctype html|html)/i.test(raw))) {
    text = await htmlToText(raw, url.href)
  } else if (isJson(contentType)) {
    text = prettyJson(raw)
  } else {
    text = raw
  }
  const notes: string[] = []
  if (body.truncated) {
    notes.push(
      `[The response was larger than ${settings.maxBytes} bytes; only the first ${settings.maxBytes} were read.]`,
    )
  }
  const totalChars = text.length
  if (totalChars > settings.maxChars) {
    text = text.slice(0, settings.maxChars)
    notes.push(`[Page text cut at ${settings.maxChars} of ${totalChars} characters.]`)
  }
  const header = [
    `URL: ${url.href}`,
    `Status: ${status}${contentType ? `, ${contentType}` : ''}`,
    `Prompt: ${prompt}`,
    'Answer the prompt from the page text below (it is the page itself, not a summary).',
  ].join('\n')
  const sections = [header, '--- page text ---', text.trim() || '(the page has no text)', ...notes]
  return {
    content: [{ type: 'text', text: sections.join('\n\n') }],
    display: {
      url: url.href,
      status,
      contentType,
      bytes: body.bytes.length,
      truncated: body.truncated || totalChars > settings.maxChars,
    },
  }
}

function redirectReport(
  start: URL,
  from: URL,
  to: URL,
  response: { status: number; statusText: string },
): ToolOutput {
  const text = [
    'The URL redirects to a different host; WebFetch does not follow that by itself.',
    `Original URL: ${start.href}`,
    ...(from.href !== start.href ? [`Redirected from: ${from.href}`] : []),
    `Redirect URL: ${to.href}`,
    `Status: ${response.status} ${response.statusText}`.trimEnd(),
    `To fetch the new location, call WebFetch again with url "${to.href}" and the same prompt.`,
  ].join('\n')
  return {
    content: [{ type: 'text', text }],
    display: { redirect: { from: from.href, to: to.href, status: response.status } },
  }
}

/**
 * The URL to fetch, or why not: http(s) only, no credentials; http becomes https unless the host
 * is loopback (local servers rarely have TLS, and loopback traffic never leaves the machine).
 */
export function targetUrl(raw: string, upgradeHttp: boolean): { url: URL } | { error: string } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { error: `Not a valid URL: ${raw}` }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `Only http and https URLs can be fetched, not ${url.protocol.replace(/:$/, '')}: ${raw}` }
  }
  if (url.username || url.password) {
    return { error: 'URLs with a user name or password are refused; WebFetch does not send credentials.' }
  }
  if (url.protocol === 'http:' && upgradeHttp && !isLoopback(url.hostname)) url.protocol = 'https:'
  return { url }
}

/** Same scheme, same port, same host apart from a leading `www.`. */
export function isPermittedRedirect(from: URL, to: URL): boolean {
  const bare = (host: string) => host.toLowerCase().replace(/^www\./, '')
  return from.protocol === to.protocol && from.port === to.port && bare(from.hostname) === bare(to.hostname)
}

function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
  )
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  if (!body) return { bytes: Buffer.alloc(0), truncated: false }
  const chunks: Buffer[] = []
  let size = 0
  let truncated = false
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (size + value.byteLength > maxBytes) {
        chunks.push(Buffer.from(value.subarray(0, maxBytes - size)))
        size = maxBytes
        truncated = true
        await reader.cancel().catch(() => undefined)
        break
      }
      chunks.push(Buffer.from(value))
      size += value.byteLength
    }
  } finally {
    reader.releaseLock()
  }
  return { bytes: Buffer.concat(chunks, size), truncated }
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}

function isHtml(contentType: string): boolean {
  const type = mediaType(contentType)
  return type === 'text/html' || type === 'application/xhtml+xml'
}

function isJson(contentType: string): boolean {
  const type = mediaType(contentType)
  return type === 'application/json' || type.endsWith('+json')
}

const TEXT_APPLICATION_TYPES =
  /^application\/(json|.*\+json|xml|.*\+xml|javascript|x-javascript|ecmascript|x-sh|x-yaml|yaml|toml|x-www-form-urlencoded|graphql|sql)$/

function isBinary(contentType: string, bytes: Buffer): boolean {
  const type = mediaType(contentType)
  if (type.startsWith('text/') || TEXT_APPLICATION_TYPES.test(type)) return false
  if (/^(image|audio|video|font)\//.test(type)) return true
  if (/^application\/(pdf|zip|gzip|x-tar|x-7z-compressed|wasm|vnd\.|msword)/.test(type)) return true
  // Unknown or generic (application/octet-stream): look at the bytes.
  return bytes.subarray(0, 4096).includes(0)
}

function decode(bytes: Buffer, contentType: string): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes)
  } catch {
    return new TextDecoder('utf-8').decode(bytes)
  }
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

async function htmlToText(html: string, baseUrl: string): Promise<string> {
  const { convert } = await import('html-to-text')
  const heading = { options: { uppercase: false } }
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { baseUrl, hideLinkHrefIfSameAsText: true } },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, ...heading })),
      { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
    ],
  })
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as Error & { cause?: unknown }).cause
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code
    return `${cause.message}${typeof code === 'string' && !cause.message.includes(code) ? ` (${code})` : ''}`
  }
  return error.message
}

function failure(text: string, display?: Record<string, unknown>): ToolOutput {
  return { content: [{ type: 'text', text }], isError: true, ...(display ? { display } : {}) }
}
