/**
 * Where OAuth credentials of remote MCP servers live: one JSON file per server under
 * `$TAU_HOME/mcp-oauth/`, mode 0600 in a 0700 directory, written atomically (a temporary file
 * created 0600, then renamed). A file holds the client registration, the tokens (with the time
 * they were saved, so expiry is known) and the cached discovery metadata. Nothing here logs.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js'
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'

export const OAUTH_DIR = 'mcp-oauth'

export interface StoredCredentials {
  readonly version: 1
  readonly server: string
  readonly url: string
  /** The registration (dynamic, or a client metadata URL), stamped with its issuer by the SDK. */
  readonly client?: OAuthClientInformationMixed
  /** The redirect URI the client was registered with (a loopback callback). */
  readonly redirectUri?: string
  readonly tokens?: OAuthTokens
  /** When `tokens` were saved (ms since the epoch): with `expires_in`, when they expire. */
  readonly savedAt?: number
  readonly discovery?: OAuthDiscoveryState
}

export class OAuthStore {
  readonly file: string
  private cached: StoredCredentials | undefined
  private loaded = false

  constructor(
    readonly dir: string,
    readonly server: string,
    readonly url: string,
  ) {
    this.file = credentialsFile(dir, server, url)
  }

  read(): StoredCredentials | undefined {
    if (!this.loaded) {
      this.loaded = true
      this.cached = readCredentials(this.file, this.server, this.url)
    }
    return this.cached
  }

  /** Applies `change` to the stored record (created when missing) and writes it. */
  update(change: (current: StoredCredentials) => StoredCredentials): void {
    const current = this.read() ?? { version: 1, server: this.server, url: this.url }
    const next = change(current)
    writeCredentials(this.dir, this.file, next)
    this.cached = next
  }

  /** Forgets everything about this server (logout). True when there was something. */
  remove(): boolean {
    const had = this.read() !== undefined
    rmSync(this.file, { force: true })
    this.cached = undefined
    return had
  }

  /** Drops the file's cached copy so the next read sees what another process wrote. */
  reload(): void {
    this.loaded = false
  }
}

/** `<dir>/<server>-<hash of the url>.json`: a renamed or moved server does not reuse tokens. */
export function credentialsFile(dir: string, server: string, url: string): string {
  const safe = server.replace(/[^A-Za-z0-9_-]/g, '_')
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12)
  return join(dir, `${safe}-${hash}.json`)
}

function readCredentials(file: string, server: string, url: string): StoredCredentials | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const data = JSON.parse(text) as Partial<StoredCredentials>
    if (data.version !== 1 || data.url !== url) return undefined
    return { ...data, version: 1, server, url } as StoredCredentials
  } catch {
    // A damaged file is as good as none: the user logs in again, which rewrites it.
    return undefined
  }
}

function writeCredentials(dir: string, file: string, data: StoredCredentials): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    // Created 0600 (not through the umask), so the secret is never readable by others.
    writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    chmodSync(temp, 0o600)
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/** Whether stored tokens are past their expiry (with a margin), when the server said when. */
export function tokensExpired(
  stored: StoredCredentials | undefined,
  now = Date.now(),
  marginMs = 30_000,
): boolean {
  const tokens = stored?.tokens
  if (!tokens || tokens.expires_in === undefined || stored?.savedAt === undefined) return false
  return stored.savedAt + tokens.expires_in * 1000 - marginMs <= now
}
