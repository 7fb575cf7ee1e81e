/**
 * The Hugging Face hub as a model source: which file a ref means (the repository's file listing,
 * with each file's size and LFS SHA-256) and where to download it from. The endpoint is
 * configurable (`providers.local.hfEndpoint`, TAU_HF_ENDPOINT), which is also how tests point it
 * at a loopback server.
 */
import { TauError } from '../../kernel/index.js'
import { describeNetworkError } from './download.js'
import { LOCAL_ERRORS } from './errors.js'
import { type LocalModelRef, matchesQuant } from './model-ref.js'

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'

export interface HubFile {
  readonly path: string
  readonly size: number | undefined
  readonly sha256: string | undefined
  readonly url: string
}

interface TreeEntry {
  type?: string
  path?: string
  size?: number
  lfs?: { oid?: string; size?: number }
}

const PLUGIN = 'provider-local'

function failure(message: string): TauError {
  return new TauError(LOCAL_ERRORS.TAU_LOCAL_DOWNLOAD, message, { plugin: PLUGIN })
}

/** HF_TOKEN, sent only to the configured endpoint. */
export function hubHeaders(env: NodeJS.ProcessEnv): Record<string, string> {
  const token = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** Finds the file an `hf:` ref names in its repository's listing. */
export async function resolveHubFile(
  ref: Exclude<LocalModelRef, { kind: 'file' }>,
  endpoint: string,
  options: { headers: Record<string, string>; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<HubFile> {
  const { request } = await import('undici')
  const base = endpoint.replace(/\/+$/, '')
  const repo = `${ref.user}/${ref.repo}`
  const listing = `${base}/api/models/${repo}/tree/main?recursive=true`
  let entries: TreeEntry[]
  try {
    const response = await request(listing, {
      headers: { accept: 'application/json', ...options.headers },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    if (response.statusCode === 404 || response.statusCode === 401) {
      await response.body.dump()
      throw failure(
        `there is no repository ${repo} at ${base} (HTTP ${response.statusCode}; a private one needs HF_TOKEN)`,
      )
    }
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw failure(`${listing} answered HTTP ${response.statusCode}`)
    }
    const body = (await response.body.json()) as unknown
    if (!Array.isArray(body)) throw failure(`${listing} did not answer with a file listing`)
    entries = body as TreeEntry[]
  } catch (error) {
    if (error instanceof TauError) throw error
    if (options.signal?.aborted) throw failure('stopped before the download began')
    throw failure(`could not list ${repo}: ${describeNetworkError(error, listing, options.timeoutMs)}`)
  }
  // A listed path becomes a path under the models directory: only plain names, no `..`.
  const safe = (path: string | undefined) =>
    (path ?? '').split('/').every((part) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(part) && !part.includes('..'))
  const ggufs = entries.filter(
    (e) => e.type !== 'directory' && safe(e.path) && e.path?.toLowerCase().endsWith('.gguf'),
  )
  let entry: TreeEntry | undefined
  if (ref.kind === 'hf') {
    entry = ggufs.find((e) => e.path === ref.file)
    if (!entry)
      throw failure(
        `${repo} has no file ${ref.file}; its GGUF files: ${ggufs.map((e) => e.path).join(', ') || '(none)'}`,
      )
  } else {
    // A split model (`-00001-of-00003`) is several files: pick a single-file one.
    const matching = ggufs.filter((e) => matchesQuant(e.path?.split('/').pop() ?? '', ref.quant))
    entry = matching.find((e) => !/-\d{5}-of-\d{5}\.gguf$/i.test(e.path ?? '')) ?? matching[0]
    if (!entry)
      throw failure(
        `${repo} has no GGUF file of the quantisation ${ref.quant}; it has: ${ggufs.map((e) => e.path).join(', ') || '(none)'}`,
      )
  }
  const path = entry.path as string
  return {
    path,
    size: entry.lfs?.size ?? entry.size,
    sha256: entry.lfs?.oid,
    url: `${base}/${repo}/resolve/main/${path.split('/').map(encodeURIComponent).join('/')}`,
  }
}
