/**
 * Where the Ollama server is: the forms OLLAMA_HOST takes, read the way Ollama itself reads them
 * (envconfig.Host), so one variable means the same address to `ollama` and to tau.
 *
 *   (unset)                 -> http://127.0.0.1:11434
 *   0.0.0.0 / 0.0.0.0:11434 -> http://127.0.0.1:11434  (a bind-all address is not one to connect to)
 *   myhost / myhost:8080    -> http://myhost:11434 / http://myhost:8080
 *   :11434                  -> http://127.0.0.1:11434
 *   http://host             -> http://host:80          (an explicit scheme brings its own default port)
 *   https://proxy/ollama    -> https://proxy:443/ollama
 *   ollama.com              -> https://ollama.com:443
 *
 * Credentials in the address (`http://user:pass@host`) are moved into an Authorization header so
 * they never appear in a URL that error messages may show.
 */
import { ProviderError } from '../providers/index.js'

export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434'
const DEFAULT_PORT = '11434'

export interface OllamaAddress {
  /** Base URL without a trailing slash: scheme, host, port and any path prefix. */
  readonly baseUrl: string
  /** `Basic ...` when the address carried credentials. */
  readonly authorization?: string
}

function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']')
    if (end === -1) return undefined
    const rest = hostport.slice(end + 1)
    if (!rest.startsWith(':')) return undefined
    return { host: hostport.slice(1, end), port: rest.slice(1) }
  }
  const colon = hostport.lastIndexOf(':')
  if (colon === -1 || hostport.indexOf(':') !== colon) return undefined
  return { host: hostport.slice(0, colon), port: hostport.slice(colon + 1) }
}

/** Turns an OLLAMA_HOST value (or the `host` setting) into a URL safe to connect to. */
export function normalizeOllamaHost(value: string | undefined): OllamaAddress {
  const input = (value ?? '').trim()
  if (input === '') return { baseUrl: DEFAULT_OLLAMA_HOST }
  let scheme = 'http'
  let defaultPort = DEFAULT_PORT
  let rest = input
  const separator = input.indexOf('://')
  if (separator === -1) {
    if (input === 'ollama.com') return { baseUrl: 'https://ollama.com:443' }
  } else {
    scheme = input.slice(0, separator).toLowerCase()
    rest = input.slice(separator + 3)
    if (scheme === 'http') defaultPort = '80'
    else if (scheme === 'https') defaultPort = '443'
    else {
      throw new ProviderError(
        'not-configured',
        `ollama: the host '${input.replace(/\/\/[^@/]*@/, '//***@')}' has an unsupported scheme '${scheme}': use http:// or https://`,
        { provider: 'ollama', plugin: 'provider-ollama' },
      )
    }
  }
  const slash = rest.indexOf('/')
  let hostport = slash === -1 ? rest : rest.slice(0, slash)
  const path = slash === -1 ? '' : rest.slice(slash).replace(/\/+$/, '')
  let authorization: string | undefined
  const at = hostport.lastIndexOf('@')
  if (at !== -1) {
    const credentials = decodeURIComponent(hostport.slice(0, at))
    authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`
    hostport = hostport.slice(at + 1)
  }
  let host: string
  let port: string
  const split = splitHostPort(hostport)
  if (split) {
    host = split.host
    port = split.port
  } else {
    host = hostport.replace(/^\[|\]$/g, '')
    port = defaultPort
  }
  const portNumber = Number(port)
  if (port === '' || !Number.isInteger(portNumber) || portNumber < 0 || portNumber > 65535) port = defaultPort
  // Addresses a server binds to but a client cannot usefully dial: use loopback instead.
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1'
  else if (host === '::' || host === '0:0:0:0:0:0:0:0') host = '::1'
  const hostPart = host.includes(':') ? `[${host}]` : host
  return {
    baseUrl: `${scheme}://${hostPart}:${port}${path}`,
    ...(authorization ? { authorization } : {}),
  }
}
