/**
 * What went wrong talking to the durable database, as a catalogue error with a fix line: the URL
 * does not parse, the server does not answer, it refuses the user, the database is missing, or
 * the `pg`/DBOS peers are not installed. DBOS and `pg` throw their own errors (a pg DatabaseError
 * with a SQLSTATE, a socket error, sometimes wrapped by session-postgres or in an AggregateError);
 * the user should not have to read those to know what to change.
 */
import { TauError } from '../../kernel/index.js'
import { maskUrl } from '../session-postgres/index.js'
import { DURABLE_ERRORS } from './errors.js'

const plugin = 'durable-dbos'

/** Throws TAU_DURABLE_DATABASE_URL unless `url` is a postgres:// or postgresql:// URL with a host. */
export function checkDatabaseUrl(url: string): void {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol) || !parsed.hostname) {
    throw new TauError(
      DURABLE_ERRORS.TAU_DURABLE_DATABASE_URL,
      `${parsed ? maskUrl(url) : 'the configured URL'} is not postgres://user:password@host:port/db`,
      { plugin },
    )
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  '57P03',
])
const AUTH = new Set(['28P01', '28000'])

/** The error and what it wraps (cause chains, AggregateError's errors), outermost first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = []
  const queue = [error]
  while (queue.length > 0 && out.length < 10) {
    const e = queue.shift()
    if (e === undefined || e === null || out.includes(e)) continue
    out.push(e)
    if (typeof e === 'object') {
      const { cause, errors } = e as { cause?: unknown; errors?: unknown }
      if (cause !== undefined) queue.push(cause)
      if (Array.isArray(errors)) queue.push(...errors)
    }
  }
  return out
}

const codeOf = (e: unknown) =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined
const messageOf = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e))

/** The catalogue error for a failure reaching or using the durable database at `url`. */
export function databaseFailure(url: string, error: unknown): unknown {
  const all = chain(error)
  // Already one of ours (not-configured, engine missing, run not found): as it is.
  const own = all.find((e) => e instanceof TauError && e.code.startsWith('TAU_DURABLE_'))
  if (own) return own
  const where = maskUrl(url)
  for (const e of all) {
    const code = codeOf(e)
    if (code && AUTH.has(code))
      return new TauError(DURABLE_ERRORS.TAU_DURABLE_DATABASE_AUTH, `${where}: ${messageOf(e)}`, {
        plugin,
        cause: error,
      })
    if (code === '3D000')
      return new TauError(DURABLE_ERRORS.TAU_DURABLE_DATABASE_MISSING, `${where}: ${messageOf(e)}`, {
        plugin,
        cause: error,
      })
    if ((code && UNREACHABLE.has(code)) || /Connection terminated|timeout expired/i.test(messageOf(e)))
      return new TauError(DURABLE_ERRORS.TAU_DURABLE_DATABASE_UNREACHABLE, `${where}: ${messageOf(e)}`, {
        plugin,
        cause: error,
      })
    if (e instanceof TauError && /driver 'pg' is not installed/.test(e.message))
      return new TauError(DURABLE_ERRORS.TAU_DURABLE_ENGINE_MISSING, messageOf(e), { plugin, cause: error })
  }
  return error
}
