/**
 * Downloads a model file over HTTP (undici) into `<dest>.partial`, then renames it: resumable
 * (HTTP Range from what the partial file holds), stopped when no data arrives for a while, abortable,
 * checked against the size and SHA-256 the hub lists. node-llama-cpp's own resolver is not used:
 * offline it retries for minutes and ignores its abort signal.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { messageOf, TauError } from '../../kernel/index.js'
import { LOCAL_ERRORS } from './errors.js'

export interface DownloadProgress {
  readonly received: number
  readonly total: number | undefined
  /** Bytes that were already there from an earlier, cut download. */
  readonly resumedFrom: number
}

export interface DownloadOptions {
  readonly url: string
  readonly dest: string
  readonly sha256?: string | undefined
  readonly size?: number | undefined
  readonly headers?: Record<string, string>
  readonly idleTimeoutMs: number
  readonly signal?: AbortSignal | undefined
  readonly onProgress?: (progress: DownloadProgress) => void
}

const PLUGIN = 'provider-local'

function failure(message: string, cause?: unknown): TauError {
  return new TauError(LOCAL_ERRORS.TAU_LOCAL_DOWNLOAD, message, { plugin: PLUGIN, cause })
}

/** What went wrong on the wire, in words (undici's error codes). */
export function describeNetworkError(error: unknown, url: string, idleMs: number): string {
  const code = (error as { code?: string } | undefined)?.code ?? ''
  const origin = new URL(url).origin
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return `${origin} sent nothing for ${Math.round(idleMs / 1000)} s (offline, or the server stalled)`
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return `could not connect to ${origin} in time (offline?)`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `${new URL(url).hostname} could not be resolved (offline?)`
  if (code === 'ECONNREFUSED') return `nothing is listening at ${origin}`
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return `the connection to ${origin} was cut`
  return `${origin}: ${messageOf(error)}`
}

async function hashFile(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
}

/** Downloads `url` to `dest`. Returns the number of bytes fetched in this call. */
export async function downloadFile(options: DownloadOptions): Promise<number> {
  const { url, dest, idleTimeoutMs, signal } = options
  const { Agent, interceptors, request } = await import('undici')
  const partial = `${dest}.partial`
  await mkdir(dirname(dest), { recursive: true })
  let have = (await stat(partial).catch(() => undefined))?.size ?? 0
  if (options.size !== undefined && have > options.size) {
    await rm(partial, { force: true })
    have = 0
  }
  const dispatcher = new Agent({ connectTimeout: idleTimeoutMs }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  )
  const hash = createHash('sha256')
  let fetched = 0
  try {
    let response: Awaited<ReturnType<typeof request>>
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher,
        headers: { ...options.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
        ...(signal ? { signal } : {}),
      })
    } catch (error) {
      if (signal?.aborted)
        throw failure(`the download was stopped; run the same command again to resume`, error)
      throw failure(`could not download ${url}: ${describeNetworkError(error, url, idleTimeoutMs)}`, error)
    }
    const status = response.statusCode
    if (status === 416 && have > 0 && (options.size === undefined || options.size === have)) {
      // Everything is already there: the server has no bytes past the end.
      await response.body.dump()
    } else if (status === 200 || status === 206) {
      if (status === 200 && have > 0) {
        // The server ignored the range: start over.
        await rm(partial, { force: true })
        have = 0
      }
      const length = Number(response.headers['content-length'] ?? Number.NaN)
      const range = /\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''))
      const total = range ? Number(range[1]) : Number.isFinite(length) ? have + length : options.size
      if (have > 0) await hashFile(partial, hash)
      const out = createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' })
      const closed = new Promise<void>((resolve, reject) => {
        out.on('close', resolve)
        out.on('error', reject)
      })
      const resumedFrom = have
      try {
        for await (const chunk of response.body) {
          const bytes = chunk as Buffer
          hash.update(bytes)
          fetched += bytes.length
          if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
          options.onProgress?.({ received: resumedFrom + fetched, total, resumedFrom })
        }
      } catch (error) {
        out.end()
        await closed.catch(() => undefined)
        if (signal?.aborted)
          throw failure(
            `the download was stopped after ${resumedFrom + fetched} bytes; run the same command again to resume`,
            error,
          )
        throw failure(
          `the download of ${url} stopped after ${resumedFrom + fetched} bytes: ${describeNetworkError(error, url, idleTimeoutMs)}; run the same command again to resume`,
          error,
        )
      }
      out.end()
      await closed
      have = resumedFrom + fetched
      if (total !== undefined && have < total)
        throw failure(
          `the connection closed after ${have} of ${total} bytes; run the same command again to resume`,
        )
    } else {
      const body = await response.body.text().catch(() => '')
      throw failure(
        status === 404
          ? `${url} does not exist (HTTP 404)`
          : status === 401 || status === 403
            ? `${url} needs access (HTTP ${status}): accept the model's terms on the hub and set HF_TOKEN`
            : `${url} answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`,
      )
    }
    if (status === 416) await hashFile(partial, hash)
    if (options.size !== undefined && have !== options.size) {
      await rm(partial, { force: true })
      throw new TauError(
        LOCAL_ERRORS.TAU_LOCAL_CHECKSUM,
        `${url}: got ${have} bytes, the hub lists ${options.size}`,
        {
          plugin: PLUGIN,
        },
      )
    }
    const digest = hash.digest('hex')
    if (options.sha256 !== undefined && digest !== options.sha256.toLowerCase()) {
      await rm(partial, { force: true })
      throw new TauError(
        LOCAL_ERRORS.TAU_LOCAL_CHECKSUM,
        `${url}: SHA-256 ${digest} does not match the hub's ${options.sha256}`,
        { plugin: PLUGIN },
      )
    }
    await rename(partial, dest)
    return fetched
  } finally {
    await dispatcher.close().catch(() => undefined)
  }
}
