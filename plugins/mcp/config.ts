/**
 * The `mcpServers` config: a record of server configs in the shape Claude Code and `.mcp.json`
 * use, plus tau's per-server switches (`disabled`, `timeoutMs`, `toolTimeoutMs`, `retry`).
 * Unknown fields are ignored, so files written for other clients load unchanged.
 */
import { z } from 'zod'

/** Defaults, in one place so the README and the code agree. */
export const MCP_DEFAULTS = Object.freeze({
  /** Connect (spawn or HTTP handshake + initialize + first tools/list). */
  timeoutMs: 30_000,
  /** One tools/call, from request to result. */
  toolTimeoutMs: 120_000,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 60_000,
  /** How long `tau mcp login` (or a frontend's authorization) waits for the browser to come back. */
  loginTimeoutMs: 300_000,
  /** The largest message a stdio server may send (one JSON-RPC line): 64 MiB. */
  maxMessageBytes: 64 * 1024 * 1024,
  /** A stdio server's time to exit after its stdin closes, and again after SIGTERM. */
  stopGraceMs: 1_500,
})

/** The syslog levels of MCP's `notifications/message`, lowest first. */
export const MCP_LOG_LEVELS = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
] as const
export type McpLogLevel = (typeof MCP_LOG_LEVELS)[number]

const common = {
  disabled: z.boolean().optional(),
  timeoutMs: z.number().int().positive().optional(),
  toolTimeoutMs: z.number().int().positive().optional(),
  /** Restart backoff after a failed start or a crash: base * 2^attempt, capped. */
  retry: z
    .object({
      baseDelayMs: z.number().int().min(0).optional(),
      maxDelayMs: z.number().int().min(0).optional(),
    })
    .optional(),
  /**
   * Answer the server's `sampling/createMessage` with tau's own model (the config's `model`).
   * `true` / `'ask'`: each request is confirmed by the user through the frontend (headless:
   * denied); `'allow'`: answered without asking (a trusted server, headless automation).
   * Off by default: the client then does not declare sampling, and a request is refused.
   */
  sampling: z.union([z.boolean(), z.enum(['ask', 'allow'])]).optional(),
  /**
   * Declare roots (the workspace roots) to this server; default true. Some servers
   * (server-filesystem) then serve the roots instead of the directories in their args.
   */
  roots: z.boolean().optional(),
  /** Ask the server (`logging/setLevel`) to send log messages of this level and above. */
  logLevel: z.enum(MCP_LOG_LEVELS).optional(),
}

export const stdioServerSchema = z.object({
  type: z.literal('stdio').optional(),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  /** Relative to the project directory; default: the project directory. */
  cwd: z.string().optional(),
  /** The largest message (one JSON-RPC line) read from the server; a larger one fails only its call. */
  maxMessageBytes: z.number().int().positive().optional(),
  /**
   * How long the server has to exit once tau closes its stdin, and again after SIGTERM, before
   * SIGKILL (its process group, with what it started). tau's stop waits for it, up to its own limit.
   */
  stopGraceMs: z.number().int().min(0).optional(),
  ...common,
})

/**
 * OAuth for a remote server (on by default: it starts only when the server answers 401).
 * `false` switches it off (static `headers` only). Strings take `${VAR}`.
 */
export const oauthSchema = z.union([
  z.literal(false),
  // Unknown fields are ignored, like the rest of a server entry (other clients' settings load).
  z.object({
    /** A pre-registered client (no dynamic registration); with `clientSecret` for a confidential one. */
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    /** An https URL where tau's client metadata document is published (used when the server supports it). */
    clientMetadataUrl: z.string().url().optional(),
    /** Scope to ask for when neither the server's 401 nor its metadata names one. */
    scope: z.string().min(1).optional(),
    /** A fixed loopback port for the redirect URI (`http://127.0.0.1:PORT/callback`), for pre-registered clients. */
    callbackPort: z.number().int().min(1).max(65_535).optional(),
    /** `client_credentials`: machine-to-machine, no user (needs `clientId` and `clientSecret` or `privateKey`). */
    grant: z.enum(['authorization_code', 'client_credentials']).optional(),
    /** A PEM private key for `private_key_jwt` client authentication (client_credentials). */
    privateKey: z.string().min(1).optional(),
    /** Its signing algorithm (default ES256). */
    algorithm: z.string().min(1).optional(),
  }),
])

export const remoteServerSchema = z.object({
  /** `http`: streamable HTTP, falling back to legacy SSE on a 4xx; `sse`: legacy SSE only. */
  type: z.enum(['http', 'sse']).optional(),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).default({}),
  oauth: oauthSchema.optional(),
  ...common,
})

/** Only `{ disabled: true }`: switches off a server of the same name from `.mcp.json`. */
const disableOnlySchema = z.strictObject({ disabled: z.literal(true) })

export const serverSchema = z.union([stdioServerSchema, remoteServerSchema, disableOnlySchema])

export const mcpConfig = z
  .record(z.string().regex(/^[^\s]+$/, 'a server name has no spaces'), serverSchema)
  .default({})

export type StdioServerConfig = z.output<typeof stdioServerSchema>
export type RemoteServerConfig = z.output<typeof remoteServerSchema>
export type OAuthConfig = Exclude<z.output<typeof oauthSchema>, false>
export type ServerConfig = z.output<typeof serverSchema>
export type McpConfig = z.output<typeof mcpConfig>

/** A server config as it is run: stdio or remote, with its transport decided. */
export type ResolvedServerConfig =
  | (StdioServerConfig & { readonly transport: 'stdio' })
  | (RemoteServerConfig & { readonly transport: 'http' | 'sse' })

export function isStdio(config: ServerConfig): config is StdioServerConfig {
  return 'command' in config
}

export function isRemote(config: ServerConfig): config is RemoteServerConfig {
  return 'url' in config
}
