/**
 * A throwaway PostgreSQL cluster for tests: a data directory in a temp dir (a copy of the run's
 * `initdb` template, below), `postgres` on a loopback port, trust authentication for the user
 * `tau`, no unix socket, removed at stop().
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
  /** A new database in the cluster, and its URL. */
  createDatabase(name: string): Promise<string>
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

export interface StartOptions {
  /** Listen address (default 127.0.0.1). */
  readonly host?: string
  /** Runs the server inside this network namespace (`ip netns exec NAME`). */
  readonly netns?: string
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
 * A fresh data directory at `dataDir`. `initdb` costs about 1.1 s of CPU, a copy of its output
 * 0.07 s: the first cluster of a run makes a template in $TAU_TEST_PG_TEMPLATE and every cluster
 * copies it (`cp -a` keeps the owner and the 0700 mode postgres insists on). Clusters starting at
 * once in other workers wait for the first one's template rather than each running initdb; without
 * the variable (outside vitest), or when the template cannot be made, each cluster runs initdb.
 */
async function dataDirectory(bin: string, user: PgUser, dataDir: string): Promise<void> {
  const templateRoot = process.env[PG_TEMPLATE_ENV]
  if (!templateRoot || !existsSync(templateRoot)) return initDataDir(bin, user, dataDir)
  // One template per binary directory and user, so a run with TAU_PG_BIN set never mixes versions.
  const key = `${bin.replace(/[^A-Za-z0-9]+/g, '_')}-${user.uid ?? process.getuid?.() ?? 'u'}`
  const dir = join(templateRoot, key)
  const ready = join(dir, 'ready')
  const failed = join(dir, 'failed')
  let maker = false
  try {
    mkdirSync(dir)
    maker = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return initDataDir(bin, user, dataDir)
  }
  if (maker) {
    try {
      if (user.uid !== undefined && user.gid !== undefined) {
        chownSync(dir, user.uid, user.gid)
        chmodSync(dir, 0o700)
      }
      initDataDir(bin, user, join(dir, 'data'))
      writeFileSync(ready, '')
    } catch (error) {
      // The waiting workers stop waiting; this cluster tries initdb itself (its error is the one
      // a broken installation should show).
      writeFileSync(failed, String(error))
      return initDataDir(bin, user, dataDir)
    }
  } else {
    // Another worker makes it: wait for its outcome, generously (a loaded machine), never for a
    // fixed time; a template that never comes means this cluster makes its own data directory.
    const deadline = Date.now() + 120_000
    while (!existsSync(ready) && !existsSync(failed) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    if (!existsSync(ready)) return initDataDir(bin, user, dataDir)
  }
  execFileSync('cp', ['-a', '--', join(dir, 'data'), dataDir])
}

/** Starts a throwaway cluster; throws with the server's log when it does not come up in 60 s. */
export async function startPostgres(options: StartOptions = {}): Promise<PgCluster> {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)')
  const host = options.host ?? '127.0.0.1'
  const root = mkdtempSync(join(tmpdir(), 'tau-pg-'))
  const dataDir = join(root, 'data')
  const user = asPostgresUser()
  if (user.uid !== undefined && user.gid !== undefined) {
    chownSync(root, user.uid, user.gid)
    chmodSync(root, 0o700)
  }
  try {
    await dataDirectory(bin, user, dataDir)
  } catch (error) {
    rmSync(root, { recursive: true, force: true })
    throw error
  }
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
        async createDatabase(name) {
          const psql = pgTool('psql', [...target, '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE "${name}"`])
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
          rmSync(root, { recursive: true, force: true })
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
  rmSync(root, { recursive: true, force: true })
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
    createDatabase: (name) => get().createDatabase(name),
    sql: (command) => get().sql(command),
    stop: () => get().stop(),
  }
}
