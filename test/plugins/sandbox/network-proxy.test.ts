/**
 * The allowlist proxy on the host, spoken to over its Unix socket the way the sandbox's bridge
 * does (raw HTTP CONNECT, absolute-form HTTP, SOCKS5), with real loopback servers behind it. The
 * test names map to 127.0.0.1 through the proxy's own `hosts` (trusted); a name the system
 * resolves to loopback (`localhost`, through /etc/hosts) stands for DNS rebinding.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  forbiddenAddress,
  type NetworkGate,
  NetworkProxy,
  type NetworkProxyOptions,
  type NetworkRequest,
} from '../../../plugins/sandbox/network-proxy.js'

let echo: Server
let echoPort: number
let echoConnections = 0
let web: HttpServer
let webPort: number
const webRequests: Array<{ host: string | undefined; url: string | undefined }> = []

beforeAll(async () => {
  echo = createServer((socket) => {
    echoConnections++
    socket.on('data', (data) => socket.write(`echo:${data}`))
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  echoPort = (echo.address() as { port: number }).port
  web = createHttpServer((req, res) => {
    webRequests.push({ host: req.headers.host, url: req.url })
    res.end(`web saw ${req.headers.host} ${req.url}`)
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  webPort = (web.address() as { port: number }).port
})
afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve))
  await new Promise((resolve) => web.close(resolve))
})

let proxy: NetworkProxy | undefined
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

const HOSTS = { 'ok.test': '127.0.0.1', 'other.test': '127.0.0.1', 'bad.ok.test': '127.0.0.1' }

async function channel(options: Partial<NetworkProxyOptions> = {}, gate?: NetworkGate) {
  proxy = new NetworkProxy({ allowedDomains: ['ok.test'], deniedDomains: [], hosts: HOSTS, ...options })
  return proxy.open(gate)
}

/** Sends bytes on a new connection to the socket; resolves with everything read until it closes, or `until` matches. */
function talk(
  socketPath: string,
  steps: ReadonlyArray<Buffer | string>,
  until?: (text: Buffer) => boolean,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection(socketPath)
    let got = Buffer.alloc(0)
    let step = 0
    const next = () => {
      if (step < steps.length) socket.write(steps[step++]!)
    }
    socket.on('connect', next)
    socket.on('data', (data) => {
      got = Buffer.concat([got, data])
      next()
      if (until?.(got)) {
        socket.destroy()
        resolve(got)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(got))
  })
}

const socksGreeting = Buffer.from([5, 1, 0])
const socksByName = (host: string, port: number) =>
  Buffer.concat([
    Buffer.from([5, 1, 0, 3, host.length]),
    Buffer.from(host),
    Buffer.from([port >> 8, port & 255]),
  ])
const socksByIp = (ip: string, port: number, command = 1) =>
  Buffer.from([5, command, 0, 1, ...ip.split('.').map(Number), port >> 8, port & 255])

describe('the allowlist proxy', () => {
  it('tunnels CONNECT to an allowed name, to the address it resolved', async () => {
    const c = await channel()
    const got = await talk(c.socketPath, [`CONNECT ok.test:${echoPort} HTTP/1.1\r\n\r\n`, 'ping'], (b) =>
      b.toString().includes('echo:ping'),
    )
    expect(got.toString()).toMatch(/^HTTP\/1\.1 200 /)
    expect(got.toString()).toContain('echo:ping')
    expect(c.refusals).toEqual([])
  })

  it('refuses CONNECT to an IP literal that is not allowed, without connecting', async () => {
    const c = await channel()
    const before = echoConnections
    const got = await talk(c.socketPath, [`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`])
    expect(got.toString()).toMatch(/^HTTP\/1\.1 403 /)
    expect(got.toString()).toContain('not in sandbox.network.allowedDomains')
    expect(echoConnections).toBe(before)
    expect(c.refusals).toEqual([expect.stringContaining(`network to 127.0.0.1:${echoPort}`)])
  })

  it('refuses an allowed name that resolves to loopback (DNS rebinding), even an allowed IP literal', async () => {
    // No `hosts` entry: localhost is resolved by the system (/etc/hosts), as a rebinding name would be.
    const c = await channel({ allowedDomains: ['localhost', '127.0.0.1'], hosts: {} })
    const before = echoConnections
    for (const host of ['localhost', '127.0.0.1']) {
      const got = (await talk(c.socketPath, [`CONNECT ${host}:${echoPort} HTTP/1.1\r\n\r\n`])).toString()
      expect(got, host).toMatch(/^HTTP\/1\.1 403 /)
      expect(got, host).toContain('loopback, link-local and unspecified addresses are never reachable')
    }
    expect(echoConnections).toBe(before)
  })

  it('knows which addresses are never reachable', () => {
    for (const address of [
      '127.0.0.1',
      '127.1.2.3',
      '0.0.0.0',
      '169.254.169.254',
      '::1',
      '::',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect(forbiddenAddress(address), address).toBe(true)
    for (const address of ['93.184.216.34', '10.0.0.1', '2606:4700::1111'])
      expect(forbiddenAddress(address), address).toBe(false)
  })

  it('forwards plain http:// for an allowed name with its own Host header, not the one the client sent', async () => {
    const c = await channel()
    const got = await talk(c.socketPath, [
      `GET http://ok.test:${webPort}/page?q=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic eA==\r\n\r\n`,
    ])
    expect(got.toString()).toContain(`web saw ok.test:${webPort} /page?q=1`)
    expect(webRequests.at(-1)).toEqual({ host: `ok.test:${webPort}`, url: '/page?q=1' })
  })

  it('refuses a redirect target that is not allowed: each hop is a request of its own', async () => {
    const c = await channel()
    const got = await talk(c.socketPath, [`GET http://other.test:${webPort}/after-redirect HTTP/1.1\r\n\r\n`])
    expect(got.toString()).toMatch(/^HTTP\/1\.1 403 /)
    expect(webRequests.some((r) => r.url === '/after-redirect')).toBe(false)
  })

  it('speaks SOCKS5 by name, and refuses SOCKS5 by IP and every command but CONNECT', async () => {
    const c = await channel()
    const ok = await talk(c.socketPath, [socksGreeting, socksByName('ok.test', echoPort), 'hi'], (b) =>
      b.toString().includes('echo:hi'),
    )
    expect([...ok.subarray(0, 4)]).toEqual([5, 0, 5, 0])
    const before = echoConnections
    const byIp = await talk(c.socketPath, [socksGreeting, socksByIp('127.0.0.1', echoPort)])
    // 2: connection not allowed by ruleset.
    expect([...byIp.subarray(0, 4)]).toEqual([5, 0, 5, 2])
    const bind = await talk(c.socketPath, [socksGreeting, socksByIp('127.0.0.1', echoPort, 2)])
    // 7: command not supported.
    expect([...bind.subarray(0, 4)]).toEqual([5, 0, 5, 7])
    expect(echoConnections).toBe(before)
  })

  it('deniedDomains win over allowedDomains, and wildcards never match IP literals', async () => {
    const c = await channel({ allowedDomains: ['*.ok.test', '*.0.0.1'], deniedDomains: ['bad.ok.test'] })
    const denied = (await talk(c.socketPath, [`CONNECT bad.ok.test:${echoPort} HTTP/1.1\r\n\r\n`])).toString()
    expect(denied).toContain("denied by sandbox.network.deniedDomains 'bad.ok.test'")
    const ip = (await talk(c.socketPath, [`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`])).toString()
    expect(ip).toMatch(/^HTTP\/1\.1 403 /)
  })

  it('asks the gate about a name the lists do not cover, once per host and port, and obeys it', async () => {
    const asked: NetworkRequest[] = []
    const gate: NetworkGate = async (request) => {
      asked.push(request)
      return request.host === 'other.test'
        ? { allowed: true, reason: 'the user allowed it' }
        : { allowed: false, reason: 'the user said no' }
    }
    const c = await channel({}, gate)
    for (let i = 0; i < 2; i++) {
      const got = await talk(c.socketPath, [`CONNECT other.test:${echoPort} HTTP/1.1\r\n\r\n`, 'x'], (b) =>
        b.toString().includes('echo:x'),
      )
      expect(got.toString()).toContain('echo:x')
    }
    const no = (await talk(c.socketPath, [`CONNECT nope.test:${echoPort} HTTP/1.1\r\n\r\n`])).toString()
    expect(no).toContain('the user said no')
    expect(asked).toEqual([
      { host: 'other.test', port: echoPort, via: 'connect' },
      { host: 'nope.test', port: echoPort, via: 'connect' },
    ])
  })

  it('refuses when the gate fails (fail closed)', async () => {
    const c = await channel({}, async () => {
      throw new Error('boom')
    })
    const got = (await talk(c.socketPath, [`CONNECT other.test:${echoPort} HTTP/1.1\r\n\r\n`])).toString()
    expect(got).toMatch(/^HTTP\/1\.1 403 /)
    expect(got).toContain('the permission check failed: boom')
  })

  it('answers what is not a proxy request with 400', async () => {
    const c = await channel()
    const got = (await talk(c.socketPath, ['GET /relative HTTP/1.1\r\nHost: ok.test\r\n\r\n'])).toString()
    expect(got).toMatch(/^HTTP\/1\.1 400 /)
  })
})
