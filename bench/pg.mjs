/**
 * A throwaway PostgreSQL cluster for the benches that need one (durable.mjs, pg-migrations.mjs,
 * spike-bullmq.mjs): the newest server under /usr/lib/postgresql, initdb into a temporary
 * directory (user `tau`, trust authentication, UTF-8, no fsync of its own files), then the server
 * on a free loopback port with no Unix socket. As root, both run as `nobody` (PostgreSQL refuses to
 * run as root). The test suite's own is test/plugins/session-postgres/pg-cluster.ts.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { appendFileSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A free TCP port on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

function pgBin() {
  const base = '/usr/lib/postgresql'
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a))
  if (versions.length === 0)
    throw new Error(`bench/pg.mjs: no PostgreSQL under ${base} (Debian package postgresql)`)
  return join(base, versions[0], 'bin')
}

/**
 * Starts a cluster; `settings` are the server's `-c` options (e.g. `{ fsync: 'off' }`).
 * Resolves once it accepts connections with its port, the postmaster's pid, `url(db)` and
 * `stop()`, which ends the server, waits for it and removes its directory.
 */
export async function startPostgres({ name = 'tau-bench-pg-', settings = {} } = {}) {
  const bin = pgBin()
  const root = mkdtempSync(join(tmpdir(), name))
  const asRoot = process.getuid() === 0
  const prefix = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'] : []
  if (asRoot)
    chownSync(
      root,
      Number(execFileSync('id', ['-u', 'nobody'])),
      Number(execFileSync('id', ['-g', 'nobody'])),
    )
  const env = { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C' }
  // setpriv execs what it is given: the spawned pid is the program's own.
  const cmd = (program, args) => [
    prefix[0] ?? program,
    [...prefix.slice(1), ...(prefix.length ? [program] : []), ...args],
  ]
  const data = join(root, 'data')
  const init = spawnSync(
    ...cmd(join(bin, 'initdb'), ['-D', data, '-U', 'tau', '-A', 'trust', '-E', 'UTF8', '--no-sync']),
    {
      env,
      encoding: 'utf8',
    },
  )
  if (init.status !== 0) throw new Error(`bench/pg.mjs: initdb failed:\n${init.stderr}`)
  appendFileSync(join(data, 'pg_hba.conf'), '\nhost all all 127.0.0.1/32 trust\n')
  const port = await freePort()
  const options = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...settings }
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    ...Object.entries(options).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]
  const server = spawn(...cmd(join(bin, 'postgres'), args), { stdio: 'ignore', env })
  const deadline = Date.now() + 60_000
  while (
    spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-t', '2']).status !== 0
  ) {
    if (server.exitCode !== null || Date.now() > deadline)
      throw new Error(`bench/pg.mjs: the server on port ${port} did not start (exit code ${server.exitCode})`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    port,
    pid: server.pid,
    url: (db = 'postgres') => `postgres://tau@127.0.0.1:${port}/${db}`,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve))
        server.kill('SIGINT')
        await exited
      }
      rmSync(root, { recursive: true, force: true })
    },
  }
}
