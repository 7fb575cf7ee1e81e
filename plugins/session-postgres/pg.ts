/**
 * The `pg` driver, loaded on first use (an optional peer dependency, kept out of the bin bundle:
 * only a configured database loads it). The few shapes tau uses are declared here, so the
 * plugin's public types do not depend on @types/pg.
 */
import { TauError } from '../../kernel/index.js'
import { POSTGRES_ERRORS } from './errors.js'

export interface PgResult<R> {
  readonly rows: R[]
  readonly rowCount: number | null
}

export interface PgQueryable {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResult<R>>
}

export interface PgClient extends PgQueryable {
  release(error?: Error | boolean): void
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
}

interface PgModule {
  Pool: new (config: { connectionString: string; max?: number; application_name?: string }) => PgPool
}

let loaded: Promise<PgModule> | undefined

async function loadPg(): Promise<PgModule> {
  loaded ??= import('pg').then(
    (namespace: unknown) => {
      const mod = namespace as { default?: PgModule } & Partial<PgModule>
      return (mod.default?.Pool ? mod.default : mod) as PgModule
    },
    (error: unknown) => {
      loaded = undefined
      throw new TauError(
        POSTGRES_ERRORS.TAU_POSTGRES_UNAVAILABLE,
        `the PostgreSQL driver 'pg' is not installed (${error instanceof Error ? error.message : String(error)}); npm install pg`,
        { plugin: 'session-postgres' },
      )
    },
  )
  return loaded
}

/** A connection pool to `url`; a pool error (a dropped idle connection) is logged, not thrown. */
export async function createPool(
  url: string,
  options: { max?: number; onError?: (error: Error) => void; applicationName?: string } = {},
): Promise<PgPool> {
  const { Pool } = await loadPg()
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 5,
    application_name: options.applicationName ?? 'tau',
  })
  pool.on('error', (error) => options.onError?.(error))
  return pool
}

/** The URL without its password, for messages and locations. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(a database URL that does not parse)'
  }
}

/** Wraps a connection failure in TAU_POSTGRES_UNAVAILABLE naming the (masked) URL. */
export function unavailable(url: string, error: unknown): TauError {
  if (error instanceof TauError) return error
  const reason =
    error instanceof Error
      ? error.message || (error as NodeJS.ErrnoException).code || error.name
      : String(error)
  return new TauError(POSTGRES_ERRORS.TAU_POSTGRES_UNAVAILABLE, `${maskUrl(url)}: ${reason}`, {
    plugin: 'session-postgres',
    cause: error,
  })
}
