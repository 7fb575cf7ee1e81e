/**
 * A throwaway PostgreSQL cluster for tests: a data directory in a temp dir (a copy of the run's
 * `initdb` template, below), `postgres` on a loopback port, trust authentication for the user
 * `tau`, no unix socket, removed at stop(). A cluster asked for a schema (`schema: 'session'` or
 * `'durable'`) starts with tau's tables, and DBOS's system tables for 'durable', already in its
 * `postgres` and `template1` databases (so in every database it creates), from a migrated template.
 *
 * PostgreSQL refuses to run as root (the CI and this machine run tests as root), so as root the
 * cluster runs as the unprivileged `nobody` through `setpriv` (util-linux, on every Debian): the
 * temp dir is handed to nobody first. As any other user it runs as that user.
 *
 * The binaries: $TAU_PG_BIN, else `pg_config --bindir`, else the newest /usr/lib/postgresql/<v>/bin
 * (Debian's layout, where nothing is on PATH), else `postgres` on PATH.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { PG_TEMPLATE_ENV } from '../../global-setup.js'

export interface PgCluster {
  /** postgres://tau@host:port/postgres */
  readonly url: string
  readonly port: number
  readonly host: string
  readonly dataDir: string
  /**
   * A new database in the cluster, and its URL: a copy of template1 (with the cluster's schema),
   * or with `empty` of template0 (initdb's own, never migrated: for tests of the migrations).
   */
  createDatabase(name: string, options?: { readonly empty?: boolean }): Promise<string>
  /** Runs SQL as the superuser `tau` on database `postgres` (psql, ON_ERROR_STOP); its stdout. */
  sql(command: string): string
  /** Stops the server (fast shutdown) and removes the data directory. */
  stop(): Promise<void>
}

/** Where the PostgreSQL binaries are, or undefined when none are installed. */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.TAU_PG_BIN
  if (fromEnv && existsSync(join(fromEnv, 'postgres'))) return fromEnv
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' })
  if (config.status === 0) {
    const dir = config.stdout.trim()
    if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir
  }
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0]) return join(debian, versions[0], 'bin')
  }
  const which = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' })
  if (which.status === 0 && which.stdout.trim()) return join(which.stdout.trim(), '..')
  return undefined
}

/** A free TCP port on the loopback interface. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** The command prefix that runs a PostgreSQL binary as a user it accepts. */
function asPostgresUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] }
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim())
  return { prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'], uid, gid }
}

/**
 * What a cluster's databases hold when it starts: nothing but what initdb makes ('none'), tau's
 * own tables as session-postgres migrates them ('session'), or those and DBOS's system tables as a
 * durable worker migrates them ('durable'). A worker or store on a migrated database finds every
 * migration applied and applies none; the migrations themselves run from scratch in a 'none'
 * cluster (durable-dbos/failures.test.ts) and in `createDatabase(name, { empty: true })`.
 */
export type PgSchema = 'none' | 'session' | 'durable'

export interface StartOptions {
  /** Listen address (default 127.0.0.1). */
  readonly host?: string
  /** Runs the server inside this network namespace (`ip netns exec NAME`). */
  readonly netns?: string
  /** The schema its databases start with (default 'none'). */
  readonly schema?: PgSchema
}

type PgUser = ReturnType<typeof asPostgresUser>

/** Runs `initdb` into `dataDir` (as the cluster's user) and opens pg_hba.conf to the test's hosts. */
function initDataDir(bin: string, user: PgUser, dataDir: string): void {
  const init = spawnSync(
    user.prefix[0] ?? join(bin, 'initdb'),
    [
      ...user.prefix.slice(1),
      ...(user.prefix.length ? [join(bin, 'initdb')] : []),
      '-D',
      dataDir,
      '-U',
      'tau',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' } },
  )
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`)
  // Trust connections from anywhere the server listens (the test's network namespaces too): the
  // cluster is the test's own and lives as long as the test.
  appendFileSync(join(dataDir, 'pg_hba.conf'), '\nhost all all 0.0.0.0/0 trust\n')
}

/**
 * The run's template data directory for `schema`, made by the first cluster that asks for it and
 * waited for by the others; its path, or undefined when there is none (outside vitest, or it could
 * not be made: the cluster then makes its own). `initdb` costs about 1.1 s of CPU, a copy of its
 * output 0.07 s, and a durable worker's first boot on an empty database about 0.7 s of
 * PostgreSQL's CPU in DBOS's migrations: so one initdb and one migration per run, in a template
 * that every cluster copies (`cp -a` keeps the owner and the 0700 mode postgres insists on).
 */
async function templateData(bin: string, user: PgUser, schema: PgSchema): Promise<string | undefined> {
  const templateRoot = process.env[PG_TEMPLATE_ENV]
  if (!templateRoot || !existsSync(templateRoot)) return undefined
  // One template per binary directory, user and schema, so a run with TAU_PG_BIN set never mixes versions.
  const key = `${bin.replace(/[^A-Za-z0-9]+/g, '_')}-${user.uid ?? process.getuid?.() ?? 'u'}${schema === 'none' ? '' : `-${schema}`}`
  const dir = join(templateRoot, key)
  const data = join(dir, 'data')
  const ready = join(dir, 'ready')
  const failed = join(dir, 'failed')
  try {
    mkdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined
    // Another worker makes it: wait for its outcome, generously (a loaded machine), never for a
    // fixed time; a template that never comes means this cluster makes its own data directory.
    const deadline = Date.now() + 120_000
    while (!existsSync(ready) && !existsSync(failed) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    return existsSync(ready) ? data : undefined
  }
  try {
    if (user.uid !== undefined && user.gid !== undefined) {
      chownSync(dir, user.uid, user.gid)
      chmodSync(dir, 0o700)
    }
    if (schema === 'none') initDataDir(bin, user, data)
    else {
      // The plain template, migrated by a server of its own that stops (a clean shutdown) before
      // anyone copies the directory.
      const plain = await templateData(bin, user, 'none')
      if (plain) execFileSync('cp', ['-a', '--', plain, data])
      else initDataDir(bin, user, data)
      const server = await serve(bin, user, data, {}, () => undefined)
      try {
        await applySchema(server, schema)
      } finally {
        await server.stop()
      }
    }
    writeFileSync(ready, '')
    return data
  } catch (error) {
    // The waiting workers stop waiting; this cluster makes its own data directory (its error is
    // the one a broken installation should show).
    writeFileSync(failed, String(error))
    return undefined
  }
}

/**
 * Migrates template1 to `schema` with tau's own code (what a store or worker runs first), then
 * makes `postgres` again as a copy of it: one migration for both databases.
 */
async function applySchema(cluster: PgCluster, schema: PgSchema): Promise<void> {
  if (schema === 'none') return
  const { createPool, migrate } = await import('../../../plugins/session-postgres/index.js')
  const url = `postgres://tau@${cluster.host}:${cluster.port}/template1`
  const pool = await createPool(url, { max: 1 })
  try {
    await migrate(pool)
    if (schema === 'durable') {
      // DBOS's system tables, through the durable client's own migration (tau submit's first use).
      const [{ createDurableClient, durableConfig }, { createLogger }] = await Promise.all([
        import('../../../plugins/durable-dbos/index.js'),
        import('../../../kernel/index.js'),
      ])
      const client = await createDurableClient({
        url,
        config: durableConfig.parse({ database: url }),
        applicationVersion: 'pg-template',
        logger: createLogger('pg-template', { level: 'error' }),
      })
      try {
        await client.list()
      } finally {
        await client.close()
      }
    }
    // From this session on template1 (CREATE DATABASE waits for the client's closed ones to go).
    await pool.query('DROP DATABASE postgres')
    await pool.query('CREATE DATABASE postgres TEMPLATE template1')
  } finally {
    await pool.end()
  }
}

/** Starts a throwaway cluster; throws with the server's log when it does not come up in 60 s. */
export async function startPostgres(options: StartOptions = {}): Promise<PgCluster> {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)')
  const schema = options.schema ?? 'none'
  const root = mkdtempSync(join(tmpdir(), 'tau-pg-'))
  const dataDir = join(root, 'data')
  const user = asPostgresUser()
  if (user.uid !== undefined && user.gid !== undefined) {
    chownSync(root, user.uid, user.gid)
    chmodSync(root, 0o700)
  }
  let migrated = false
  try {
    const template = await templateData(bin, user, schema)
    if (template) execFileSync('cp', ['-a', '--', template, dataDir])
    else initDataDir(bin, user, dataDir)
    migrated = template !== undefined
  } catch (error) {
    rmSync(root, { recursive: true, force: true })
    throw error
  }
  const cluster = await serve(bin, user, dataDir, options, () =>
    rmSync(root, { recursive: true, force: true }),
  )
  if (!migrated) {
    try {
      await applySchema(cluster, schema)
    } catch (error) {
      await cluster.stop()
      throw error
    }
  }
  return cluster
}

/** Runs `postgres` on `dataDir` until stop(), which then calls `removed`. */
async function serve(
  bin: string,
  user: PgUser,
  dataDir: string,
  options: StartOptions,
  removed: () => void,
): Promise<PgCluster> {
  const host = options.host ?? '127.0.0.1'
  let lastError = ''
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort(options.netns ? '127.0.0.1' : host)
    const args = [
      ...(options.netns ? ['ip', 'netns', 'exec', options.netns] : []),
      ...user.prefix,
      join(bin, 'postgres'),
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      `listen_addresses=${host}`,
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ]
    let log = ''
    const child: ChildProcess = spawn(args[0]!, args.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
    })
    child.stdout?.on('data', (d: Buffer) => {
      log += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    // One of the cluster's client tools (pg_isready, psql), inside the namespace when there is one.
    const pgTool = (name: string, toolArgs: readonly string[]) =>
      spawnSync(
        options.netns ? 'ip' : join(bin, name),
        [...(options.netns ? ['netns', 'exec', options.netns, join(bin, name)] : []), ...toolArgs],
        { encoding: 'utf8' },
      )
    const target = ['-h', host, '-p', String(port), '-U', 'tau', '-d', 'postgres']
    let up = false
    let gone = false
    void exited.then(() => {
      gone = true
    })
    const deadline = Date.now() + 60_000
    while (!gone && Date.now() < deadline) {
      const ready = pgTool('pg_isready', [...target, '-t', '2'])
      if (ready.status === 0) {
        up = true
        break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    if (up) {
      const url = `postgres://tau@${host}:${port}/postgres`
      let stopped = false
      return {
        url,
        port,
        host,
        dataDir,
        async createDatabase(name, createOptions = {}) {
          const template = createOptions.empty ? ' TEMPLATE template0' : ''
          const psql = pgTool('psql', [
            ...target,
            '-v',
            'ON_ERROR_STOP=1',
            '-c',
            `CREATE DATABASE "${name}"${template}`,
          ])
          if (psql.status !== 0) throw new Error(`CREATE DATABASE ${name} failed: ${psql.stderr}`)
          return `postgres://tau@${host}:${port}/${name}`
        },
        sql(command) {
          const psql = pgTool('psql', [...target, '-v', 'ON_ERROR_STOP=1', '-At', '-c', command])
          if (psql.status !== 0) throw new Error(`psql failed: ${psql.stderr}`)
          return psql.stdout
        },
        async stop() {
          if (stopped) return
          stopped = true
          if (!gone) {
            child.kill('SIGINT') // fast shutdown
            await exited
          }
          removed()
        },
      }
    }
    if (!gone) {
      child.kill('SIGKILL')
      await exited
    }
    lastError = log
    // A port taken between freePort() and the bind: try another one.
    if (!/could not bind|Address already in use/.test(log)) break
  }
  removed()
  throw new Error(`postgres did not start: ${lastError}`)
}

/**
 * A cluster for the tests of one file: started before them (beforeAll), stopped after them. Its
 * fields are read when a test runs (the cluster does not exist before beforeAll has run).
 */
export function usePgCluster(options: StartOptions = {}): PgCluster {
  let current: PgCluster | undefined
  beforeAll(async () => {
    current = await startPostgres(options)
  }, 120_000)
  afterAll(async () => {
    await current?.stop()
  })
  const get = (): PgCluster => {
    if (!current) throw new Error('the test cluster starts in beforeAll: use it inside a test or hook')
    return current
  }
  return {
    get url() {
      return get().url
    },
    get port() {
      return get().port
    },
    get host() {
      return get().host
    },
    get dataDir() {
      return get().dataDir
    },
    createDatabase: (name, createOptions) => get().createDatabase(name, createOptions),
    sql: (command) => get().sql(command),
    stop: () => get().stop(),
  }
}
