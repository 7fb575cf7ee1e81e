/**
 * The logger plugins get as ctx.logger. stdout is protocol (stream-json, MCP stdio, editor
 * protocols), so logs go to stderr or to a sink given by the embedder; never to stdout.
 * Values of secret-looking environment variables are masked wherever they appear.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface LogRecord {
  readonly level: Exclude<LogLevel, 'silent'>
  /** The plugin (or `kernel`) the line belongs to. */
  readonly name: string
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>> | undefined
  readonly time: number
}

export interface Logger {
  readonly name: string
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  /** A logger for a part of this one, e.g. `logger.child('http')` -> `mcp:http`. */
  child(name: string): Logger
}

export type LogSink = (record: LogRecord) => void

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)/i
/**
 * A config or log field holds a secret when its last word is one of these: `apiKey`, `token`,
 * `clientSecret`, `x-api-key`, `Authorization`; not `apiKeyEnv` (a variable's name) or
 * `maxTokensField` (a field's name), whose last words say what they are.
 */
const SECRET_WORDS = new Set([
  'key',
  'apikey',
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'credential',
  'credentials',
  'authorization',
  'cookie',
])

/** Whether a field name names a secret: by its last word (camelCase, snake_case or kebab-case). */
export function isSecretField(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter(Boolean)
  const last = words.at(-1)?.toLowerCase()
  return last !== undefined && SECRET_WORDS.has(last)
}

/** Shorter values are never masked: masking `x` would mangle every text it appears in. */
const MIN_SECRET = 4
/** From this length a value is masked wherever it appears; shorter ones only as a whole token. */
const LONG_SECRET = 8
const TOKEN_CHAR = /[A-Za-z0-9_-]/

/** Values of secret-looking environment variables, longest first so overlaps mask fully. */
export function secretValuesFrom(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>()
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_SECRET && SECRET_NAME.test(name)) values.add(value)
  }
  return [...values].sort((a, b) => b.length - a.length)
}

/**
 * Masks the values of secrets in a text as whole values: a value of 8 characters or more
 * wherever it appears, a shorter one only where it stands alone (not inside a longer word), and
 * one under 4 characters never (`OPENAI_API_KEY=x` must not turn "exist" into "e***ist").
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET || !out.includes(secret)) continue
    if (secret.length >= LONG_SECRET) {
      out = out.split(secret).join('***')
      continue
    }
    let masked = ''
    let from = 0
    for (let at = out.indexOf(secret); at !== -1; at = out.indexOf(secret, at + secret.length)) {
      const before = at > 0 ? out[at - 1]! : ''
      const after = out[at + secret.length] ?? ''
      if (TOKEN_CHAR.test(before) || TOKEN_CHAR.test(after)) continue
      masked += `${out.slice(from, at)}***`
      from = at + secret.length
    }
    out = masked + out.slice(from)
  }
  return out
}

/** Replaces values under secret-looking keys with '***', recursively. */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value
  if (seen.has(value)) return '[circular]'
  seen.add(value)
  if (Array.isArray(value)) return value.map((item) => redact(item, seen))
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      isSecretField(key) && item !== undefined && item !== null && typeof item !== 'object'
        ? '***'
        : redact(item, seen)
  }
  return out
}

export interface LoggerOptions {
  level?: LogLevel
  sink?: LogSink
  /** Strings never to print (defaults to secret-looking environment values). */
  secrets?: readonly string[]
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields || Object.keys(fields).length === 0) return ''
  try {
    return ` ${JSON.stringify(redact(fields))}`
  } catch {
    return ' [unserialisable fields]'
  }
}

/** Writes `[name] level: message {fields}` lines to stderr. */
export function stderrSink(secrets: readonly string[]): LogSink {
  return (record) => {
    const line = `[${record.name}] ${record.level}: ${record.message}${formatFields(record.fields as Record<string, unknown>)}`
    process.stderr.write(`${maskSecrets(line, secrets)}\n`)
  }
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'warn']
  const secrets = options.secrets ?? secretValuesFrom(process.env)
  const sink = options.sink ?? stderrSink(secrets)
  const make = (loggerName: string): Logger => {
    const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
      if (LEVELS[level] < threshold) return
      sink({
        level,
        name: loggerName,
        message: maskSecrets(message, secrets),
        fields: fields === undefined ? undefined : (redact(fields) as Record<string, unknown>),
        time: Date.now(),
      })
    }
    return {
      name: loggerName,
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (child) => make(`${loggerName}:${child}`),
    }
  }
  return make(name)
}

export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined || value === '') return undefined
  return value in LEVELS ? (value as LogLevel) : undefined
}
