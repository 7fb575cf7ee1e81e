/**
 * The environment contract: one suite, run against every backend (local, bubblewrap, ...) by
 * contract.test.ts. What every backend keeps is tested for all; what only a confining backend
 * keeps (writes outside refused, masked reads, /proc, network) for those whose capabilities say
 * they confine.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import type { SandboxPolicy } from '../../../plugins/sandbox/policy.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

export interface BackendFactoryOptions {
  readonly cwd: string
  readonly parentEnv: NodeJS.ProcessEnv
  readonly tauHome: string
  readonly policy?: SandboxPolicy
  readonly killGraceMs?: number
  /** With network allowlist: names the proxy maps to addresses (a loopback test server). */
  readonly proxyHosts?: Readonly<Record<string, string>>
}

export interface Backend {
  readonly name: string
  /** For the die-with-parent test: the kind fixtures/hold-commands.mjs makes. */
  readonly fixtureKind: 'local' | 'bwrap' | 'container'
  /** Whether it offers network `allowlist` (the proxy); default true. */
  readonly allowlist?: boolean
  create(options: BackendFactoryOptions): Environment
}

const SECRET = 'tau-contract-secret-7f3a'

export const policy = (
  overrides: Partial<SandboxPolicy['filesystem']> = {},
  network?: SandboxPolicy['network'],
) => ({
  filesystem: { allowWrite: [], denyWrite: [], denyRead: [], ...overrides },
  network: network ?? { mode: 'none' as const, allowedDomains: [], deniedDomains: [] },
})

/** Pids (host view) whose command line contains the token. */
export function pidsWith(token: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // The stat only of a process that names the token: the start-race test calls this every
      // event-loop turn while it waits, on a machine of some hundreds of processes.
      if (!readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(token)) continue
      const state = readFileSync(`/proc/${name}/stat`, 'latin1').replace(/^.*\) /s, '')[0]
      if (state !== 'Z' && state !== 'X') out.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

export async function until(what: string, check: () => boolean, ms = HANG_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A unique sleep length: its digits find the process in /proc. */
const token = () => `${1000 + Math.floor(Math.random() * 8000)}.${Math.floor(Math.random() * 1e6)}`

export function environmentContract(backend: Backend): void {
  describe(`environment contract: ${backend.name}`, () => {
    let dir: string
    let tauHome: string
    let env: Environment
    const make = (options: Partial<BackendFactoryOptions> = {}) =>
      backend.create({
        cwd: dir,
        parentEnv: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_SECRET_ACCESS_KEY: SECRET,
          GITHUB_TOKEN: SECRET,
        },
        tauHome,
        ...options,
      })

    beforeEach(async () => {
      dir = await realpath(await mkdtemp(join(tmpdir(), 'tau-contract-')))
      tauHome = await realpath(await mkdtemp(join(tmpdir(), 'tau-contract-home-')))
      env = make()
    })
    afterEach(async () => {
      await env.dispose()
      await rm(dir, { recursive: true, force: true })
      await rm(tauHome, { recursive: true, force: true })
    })

    it('reports exit codes, stdout, stderr and stdin', async () => {
      const r = await env.exec('read line; echo "got $line"; echo oops >&2; exit 3', { input: 'hello\n' })
      expect(r).toMatchObject({ exitCode: 3, stdout: 'got hello\n', stderr: 'oops\n', timedOut: false })
    })

    it('runs an argv without a shell', async () => {
      const r = await env.exec(['printf', '%s|', 'a b', '$HOME', ';'])
      expect(r.stdout).toBe('a b|$HOME|;|')
    })

    it('runs in the working directory, and in a cwd inside the workspace', async () => {
      await mkdir(join(dir, 'sub'))
      expect((await env.exec('pwd')).stdout.trim()).toBe(dir)
      expect((await env.exec('pwd', { cwd: 'sub' })).stdout.trim()).toBe(join(dir, 'sub'))
      await expect(env.exec('pwd', { cwd: '/etc' })).rejects.toMatchObject({ kind: 'outside-workspace' })
    })

    it('gives processes the allowlisted environment only', async () => {
      const r = await env.exec('env', { env: { EXTRA: 'yes' } })
      expect(r.stdout).toContain('EXTRA=yes')
      expect(r.stdout).toContain('PATH=')
      expect(r.stdout).not.toContain(SECRET)
    })

    it('on timeout kills the whole process group', async () => {
      const t = token()
      const r = await env.exec(`sleep ${t} & sleep ${t} & wait`, { timeoutMs: 400 })
      expect(r.timedOut).toBe(true)
      await until('the sleeps to be gone', () => pidsWith(t).length === 0)
    })

    it('spawn() streams output, takes input, and can be killed', async () => {
      const handle = env.spawn('while read line; do echo "echo $line"; done')
      handle.write('one\n')
      const seen: string[] = []
      for await (const chunk of handle.output) {
        seen.push(chunk.text)
        if (seen.join('').includes('echo one')) break
      }
      handle.write('two\n')
      handle.closeInput()
      const r = await handle.wait()
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toBe('echo one\necho two\n')
      const t = token()
      const sleeper = env.spawn(`sleep ${t}`)
      await until('the sleep to start', () => pidsWith(t).length > 0)
      sleeper.kill()
      expect((await sleeper.wait()).signal).toBe('SIGTERM')
    })

    it('its processes die with tau: a SIGKILL of the parent leaves none behind, grandchildren included', async () => {
      const t = token()
      const fixture = join(import.meta.dirname, 'fixtures', 'hold-commands.mjs')
      const parent = spawn(process.execPath, [fixture, backend.fixtureKind, dir, t], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      try {
        await new Promise<void>((resolve, reject) => {
          parent.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve())
          parent.on('exit', (code) => reject(new Error(`the parent exited early (${code})`)))
        })
        expect(pidsWith(t).length).toBeGreaterThanOrEqual(2)
        parent.kill('SIGKILL')
        await until('every sleep to be gone', () => pidsWith(t).length === 0)
      } finally {
        parent.kill('SIGKILL')
      }
    })

    it('file tools refuse denyRead paths and protected paths with kind "denied"', async () => {
      await writeFile(join(dir, 'secret.txt'), 'hidden')
      await mkdir(join(dir, '.git', 'hooks'), { recursive: true })
      const denied = make({ policy: policy({ denyRead: ['secret.txt'] }) })
      await expect(denied.readFile('secret.txt')).rejects.toMatchObject({ kind: 'denied' })
      await expect(denied.readFile(join(tauHome, 'x'))).rejects.toMatchObject({ kind: 'outside-workspace' })
      await expect(denied.writeFile('.git/hooks/pre-commit', 'x')).rejects.toMatchObject({ kind: 'denied' })
      await denied.dispose()
    })

    if (!backend.create({ cwd: tmpdir(), parentEnv: {}, tauHome: tmpdir() }).capabilities.filesystemIsolation)
      return

    describe('confinement', () => {
      let outside: string
      let server: Server
      let port: number
      let connections = 0
      beforeAll(async () => {
        server = createServer((socket) => {
          connections++
          socket.end('hello from the host\n')
        })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        port = (server.address() as { port: number }).port
      })
      afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))
      beforeEach(async () => {
        // Outside every root, and not under /tmp (private inside): next to the checkout.
        const cache = join(process.cwd(), 'node_modules', '.cache')
        await mkdir(cache, { recursive: true })
        outside = await realpath(await mkdtemp(join(cache, 'tau-contract-outside-')))
      })
      afterEach(() => rm(outside, { recursive: true, force: true }))

      it('refuses writes outside the workspace, also through a symlink', async () => {
        await symlink(outside, join(dir, 'link'))
        const r = await env.exec(
          `echo x > ${outside}/direct; echo y > link/through; echo z > ${process.cwd()}/tau-contract-x; true`,
        )
        // A container's root has no such directories at all; the host's is read-only.
        expect(r.stderr).toMatch(/Read-only file system|nonexistent|No such file/)
        expect(readdirSync(outside)).toEqual([])
        expect(readdirSync(process.cwd())).not.toContain('tau-contract-x')
        // A write to /tmp lands in the sandbox's own /tmp, not the host's.
        const name = `tau-contract-${token()}`
        await env.exec(`echo x > /tmp/${name}`)
        expect(readdirSync(tmpdir())).not.toContain(name)
      })

      it('keeps a denyWrite path that does not exist yet unwritable: a command creating it has it removed, the file tools refuse', async () => {
        const e = make({ policy: policy({ denyWrite: ['later', 'later-file.txt'] }) })
        try {
          const r = await e.exec(
            'mkdir later; echo x > later/inside; echo y > later-file.txt; echo ok > fine.txt',
          )
          expect(readdirSync(dir)).not.toContain('later')
          expect(readdirSync(dir)).not.toContain('later-file.txt')
          expect(await readFile(join(dir, 'fine.txt'), 'utf8')).toBe('ok\n')
          expect(r.stderr).toContain(`[sandbox] refused: the command created ${join(dir, 'later')}`)
          expect(r.stderr).toContain(`[sandbox] refused: the command created ${join(dir, 'later-file.txt')}`)
          await expect(e.writeFile('later/x.txt', 'no')).rejects.toMatchObject({ kind: 'denied' })
          await expect(e.writeFile('later-file.txt', 'no')).rejects.toMatchObject({ kind: 'denied' })
          // Created by someone else meanwhile, it exists at the next command: mounted read-only then.
          await mkdir(join(dir, 'later'))
          const again = await e.exec('echo z > later/inside')
          expect(again.exitCode).not.toBe(0)
          expect(readdirSync(join(dir, 'later'))).toEqual([])
        } finally {
          await e.dispose()
        }
      })

      it('writes allowWrite paths, and never denyWrite or protected ones', async () => {
        await mkdir(join(dir, '.git', 'hooks'), { recursive: true })
        await mkdir(join(dir, 'locked'))
        const e = make({ policy: policy({ allowWrite: [outside], denyWrite: ['locked'] }) })
        const r = await e.exec(
          `echo a > ${outside}/ok; echo b > locked/no; echo c > .git/hooks/pre-commit; mkdir .tau; echo {} > .tau/settings.json; echo d > ok.txt`,
        )
        expect(await readFile(join(outside, 'ok'), 'utf8')).toBe('a\n')
        expect(await readFile(join(dir, 'ok.txt'), 'utf8')).toBe('d\n')
        expect(readdirSync(join(dir, 'locked'))).toEqual([])
        expect(readdirSync(join(dir, '.git', 'hooks'))).toEqual([])
        // .tau did not exist, so nothing could be mounted over it: it is removed afterwards, and said.
        expect(readdirSync(dir)).not.toContain('.tau')
        expect(r.stderr).toContain('[sandbox] refused: the command created')
        await e.dispose()
      })

      it("masks denyRead paths and tau's home for processes", async () => {
        await writeFile(join(dir, 'secret.txt'), SECRET)
        await writeFile(join(tauHome, 'credentials.json'), SECRET)
        const e = make({ policy: policy({ denyRead: ['secret.txt'] }) })
        const r = await e.exec(`cat secret.txt; cat ${tauHome}/credentials.json; ls ${tauHome}`)
        expect(r.stdout).not.toContain(SECRET)
        expect(r.stdout).not.toContain('credentials.json')
        await e.dispose()
      })

      it('shows no host process in /proc, and no secret in /proc/$PPID/environ', async () => {
        const r = await env.exec(
          `tr '\\0' '\\n' < /proc/$PPID/environ; echo ---; ls /proc; cat /proc/${process.pid}/environ`,
        )
        expect(r.stdout).not.toContain(SECRET)
        const pids = r.stdout
          .split('---')[1]!
          .split('\n')
          .filter((line) => /^\d+$/.test(line))
          .map(Number)
        expect(pids).not.toContain(process.pid)
        expect(Math.max(...pids)).toBeLessThan(50)
      })

      // Only where the backend offers the proxy (every backend here; a docker runtime has none yet).
      if (backend.allowlist !== false)
        it('with an allowlist, reaches allowed names through the proxy (curl, CONNECT, SOCKS5, node) and nothing else', async () => {
          const seen: string[] = []
          const web = createHttpServer((req, res) => {
            seen.push(`${req.headers.host}${req.url}`)
            if (req.url === '/redirect') {
              res.writeHead(302, { location: `http://denied.test:${webPort}/landed` }).end()
            } else res.end(`web:${req.url}`)
          })
          await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
          const webPort = (web.address() as { port: number }).port
          const e = make({
            policy: policy(
              {},
              { mode: 'allowlist', allowedDomains: ['allowed.test'], deniedDomains: ['denied.test'] },
            ),
            proxyHosts: {
              'allowed.test': '127.0.0.1',
              'denied.test': '127.0.0.1',
              'unknown.test': '127.0.0.1',
            },
          })
          try {
            expect(e.capabilities.network).toBe('allowlist')
            const url = `http://allowed.test:${webPort}`
            const node = `const s = require('net').connect(3128, '127.0.0.1', () => s.write('CONNECT allowed.test:${webPort} HTTP/1.1\\r\\n\\r\\n')); let once = false; s.on('data', (d) => { if (!once) { once = true; s.write('GET /node HTTP/1.1\\r\\nHost: allowed.test\\r\\nConnection: close\\r\\n\\r\\n') } else process.stdout.write(String(d).split('\\r\\n\\r\\n')[1] + ' ') })`
            const r = await e.exec(
              [
                `curl -sS ${url}/plain; echo`,
                `curl -sS --proxytunnel ${url}/tunnel; echo`,
                `curl -sS -x socks5h://127.0.0.1:3128 ${url}/socks; echo`,
                `node -e "${node}"; echo`,
                `curl -sS -L -o /dev/null -w 'redirect:%{http_code}' ${url}/redirect; echo`,
                `curl -sS -o /dev/null -w 'unknown:%{http_code}' http://unknown.test:${webPort}/x; echo`,
                `curl -sS --noproxy '*' --max-time 5 http://127.0.0.1:${webPort}/direct || echo direct-refused`,
              ].join('\n'),
            )
            expect(r.stdout).toContain('web:/plain')
            expect(r.stdout).toContain('web:/tunnel')
            expect(r.stdout).toContain('web:/socks')
            expect(r.stdout).toContain('web:/node')
            // The redirect's second hop is a request of its own, for a denied name: refused.
            expect(r.stdout).toContain('redirect:403')
            expect(r.stdout).toContain('unknown:403')
            expect(r.stdout).toContain('direct-refused')
            expect(seen).toEqual([
              `allowed.test:${webPort}/plain`,
              `allowed.test:${webPort}/tunnel`,
              `allowed.test:${webPort}/socks`,
              'allowed.test/node',
              `allowed.test:${webPort}/redirect`,
            ])
            expect(r.stderr).toContain(`[sandbox] refused: network to denied.test:${webPort}`)
            expect(r.stderr).toContain(`[sandbox] refused: network to unknown.test:${webPort}`)
            // A gate given with the command decides names the lists leave open.
            const asked = await e.exec(`curl -sS http://unknown.test:${webPort}/asked`, {
              onNetworkRequest: async (request) => ({
                allowed: request.host === 'unknown.test',
                reason: 'test gate',
              }),
            })
            expect(asked.stdout).toBe('web:/asked')
          } finally {
            await e.dispose()
            await new Promise((resolve) => web.close(resolve))
          }
        })

      it('refuses network to a loopback port on the host', async () => {
        const before = connections
        const r = await env.exec(
          `node -e "require('net').connect(${port}, '127.0.0.1').on('data', d => console.log(String(d))).on('error', e => { console.log('refused', e.code); process.exit(7) })"`,
        )
        expect(r.stdout).toContain('refused')
        expect(r.stdout).not.toContain('hello from the host')
        expect(connections).toBe(before)
      })
    })
  })
}
