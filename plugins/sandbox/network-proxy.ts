/**
 * The network allowlist: a proxy tau runs on the host for sandboxed processes, which have no
 * network of their own (a bwrap network namespace with loopback only). Each command gets a
 * channel: a Unix socket in a private directory, bound into the sandbox, where socat bridges
 * 127.0.0.1:3128 to it (bridge.ts). One port speaks both protocols: a first byte of 5 is SOCKS5
 * (ALL_PROXY=socks5h://...), anything else HTTP — CONNECT for tunnels (HTTPS_PROXY) and
 * absolute-form requests for plain http:// (HTTP_PROXY).
 *
 * A request names a host. deniedDomains refuse it, allowedDomains let it through, anything else
 * goes to the command's gate (the permission flow: `Network(domain:...)` rules, then the user),
 * and without a gate it is refused: fail closed. The proxy then resolves the name itself and
 * connects to the address it resolved (no second lookup for a rebinding to change), refusing
 * loopback, unspecified and link-local addresses (tau's own servers, a cloud's metadata
 * endpoint) unless the address comes from the static `hosts` map the embedder gave. An IP literal
 * is a name like any other: only an exact entry in allowedDomains (or a gate's yes) allows it.
 * Plain HTTP has its Host header rewritten to the allowed authority; a CONNECT tunnel's contents
 * (TLS, its SNI) are not inspected.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../../kernel/index.js'
import { domainMatches } from './policy.js'

/** A connection a sandboxed process asks for. */
export interface NetworkRequest {
  /** Lower case, no trailing dot, IPv6 without brackets. */
  readonly host: string
  readonly port: number
  /** How it asked: an HTTP CONNECT, a plain http:// request, or SOCKS5. */
  readonly via: 'connect' | 'http' | 'socks5'
}

export interface NetworkVerdict {
  readonly allowed: boolean
  /** Why, for the refusal the process sees and for the log. */
  readonly reason: string
}

/** Decides a host that neither allowedDomains nor deniedDomains name (the permission flow). */
export type NetworkGate = (request: NetworkRequest) => Promise<NetworkVerdict>

export interface NetworkProxyOptions {
  readonly allowedDomains: readonly string[]
  readonly deniedDomains: readonly string[]
  /**
   * Names mapped to addresses by the embedder (tests: a loopback server under a test name).
   * Trusted: such an address is used even when it is loopback.
   */
  readonly hosts?: Readonly<Record<string, string>>
  /** Name resolution (default: the system's, every address). */
  readonly lookup?: (host: string) => Promise<readonly string[]>
  readonly logger?: Logger
}

/** One command's way out: its socket, what it was refused, and closing it when the command ends. */
export interface ProxyChannel {
  readonly socketPath: string
  /** The refusals so far, as lines for the command's stderr. */
  readonly refusals: readonly string[]
  close(): Promise<void>
}

const MAX_HEAD = 64 * 1024
/** The port the bridge listens on inside the sandbox. */
export const PROXY_PORT = 3128

// node:dns/promises is loaded at the first lookup, not with the plugin: most runs start no proxy.
const systemLookup = async (host: string): Promise<string[]> =>
  (await process.getBuiltinModule('node:dns/promises').lookup(host, { all: true, verbatim: true })).map(
    (entry) => entry.address,
  )

/** Addresses a sandboxed process must never reach through the proxy. */
export function forbiddenAddress(address: string): boolean {
  let a = address.toLowerCase()
  if (a.startsWith('::ffff:')) a = a.slice(7)
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number]
    return x === 127 || x === 0 || (x === 169 && y === 254)
  }
  if (isIP(a) === 6) return a === '::1' || a === '::' || /^fe[89ab]/.test(a)
  return true
}

/** Buffers a socket's bytes for the handshake; what is left is handed on to the upstream. */
class Reader {
  private buffer = Buffer.alloc(0)
  private wake: (() => void) | undefined
  private ended = false
  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk])
    this.wake?.()
  }
  private readonly onEnd = () => {
    this.ended = true
    this.wake?.()
  }
  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('close', this.onEnd)
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error('the connection ended during the handshake')
    await new Promise<void>((resolve) => (this.wake = resolve))
    this.wake = undefined
  }

  async bytes(n: number): Promise<Buffer> {
    while (this.buffer.length < n) await this.more()
    const out = this.buffer.subarray(0, n)
    this.buffer = this.buffer.subarray(n)
    return out
  }

  async head(): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n')
      if (end >= 0) {
        const out = this.buffer.subarray(0, end + 4).toString('latin1')
        this.buffer = this.buffer.subarray(end + 4)
        return out
      }
      if (this.buffer.length > MAX_HEAD) throw new Error('request head too large')
      await this.more()
    }
  }

  async peek(): Promise<number> {
    while (this.buffer.length < 1) await this.more()
    return this.buffer[0]!
  }

  /** Stops buffering; returns what was read past the handshake. */
  release(): Buffer {
    this.socket.pause()
    this.socket.off('data', this.onData)
    this.socket.off('end', this.onEnd)
    this.socket.off('close', this.onEnd)
    return this.buffer
  }
}

function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase().replace(/\.$/, '')
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  return h
}

/** `host:port`, `[v6]:port`. */
function splitAuthority(authority: string, defaultPort: number): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority.trim())
  if (!match) return undefined
  const port = match[2] === undefined ? defaultPort : Number(match[2])
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined
  return { host: normalizeHost(match[1]!), port }
}

export class NetworkProxy {
  private readonly dir: string
  private readonly servers = new Set<Server>()
  private readonly sockets = new Set<Socket>()
  private count = 0
  private readonly lookup: (host: string) => Promise<readonly string[]>
  private readonly hosts: ReadonlyMap<string, string>

  constructor(private readonly options: NetworkProxyOptions) {
    this.hosts = new Map(
      Object.entries(options.hosts ?? {}).map(([name, address]) => [normalizeHost(name), address]),
    )
    // A private directory (0700): no other local user reaches the sockets.
    this.dir = mkdtempSync(join(tmpdir(), 'tau-net-'))
    this.lookup = options.lookup ?? systemLookup
  }

  /** A new channel for one command; `gate` decides hosts the lists do not name. */
  async open(gate?: NetworkGate): Promise<ProxyChannel> {
    const socketPath = join(this.dir, `c${++this.count}.sock`)
    const refusals: string[] = []
    const asked = new Map<string, Promise<NetworkVerdict>>()
    const decide = (request: NetworkRequest): Promise<NetworkVerdict> => {
      const key = `${request.host}:${request.port}`
      let verdict = asked.get(key)
      if (!verdict) {
        verdict = this.decide(request, gate).catch((error: unknown) => ({
          allowed: false,
          reason: `the permission check failed: ${error instanceof Error ? error.message : String(error)}`,
        }))
        asked.set(key, verdict)
      }
      return verdict
    }
    const refuse = (request: NetworkRequest, reason: string) => {
      const line = `network to ${request.host}:${request.port} (${reason})`
      if (!refusals.includes(line)) refusals.push(line)
      this.options.logger?.warn('sandbox network refused', { host: request.host, port: request.port, reason })
    }
    const server = createServer((socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      socket.on('error', () => {})
      this.serve(socket, decide, refuse).catch(() => socket.destroy())
    })
    this.servers.add(server)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => resolve())
    })
    return {
      socketPath,
      refusals,
      close: () =>
        new Promise<void>((resolve) => {
          this.servers.delete(server)
          server.close(() => resolve())
        }),
    }
  }

  /** Closes every channel and connection, and removes the sockets' directory. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await Promise.all([...this.servers].map((server) => new Promise((resolve) => server.close(resolve))))
    this.servers.clear()
    rmSync(this.dir, { recursive: true, force: true })
  }

  private async decide(request: NetworkRequest, gate: NetworkGate | undefined): Promise<NetworkVerdict> {
    const { allowedDomains, deniedDomains } = this.options
    const ip = isIP(request.host) !== 0
    // Wildcards name domains, never addresses (`*.0.0.1`).
    const matches = (pattern: string) =>
      ip ? pattern.toLowerCase() === request.host : domainMatches(request.host, pattern)
    const denied = deniedDomains.find(matches)
    if (denied) return { allowed: false, reason: `denied by sandbox.network.deniedDomains '${denied}'` }
    const allowed = allowedDomains.find(matches)
    if (allowed) return { allowed: true, reason: `allowed by sandbox.network.allowedDomains '${allowed}'` }
    if (!gate) {
      return {
        allowed: false,
        reason: `not in sandbox.network.allowedDomains, and nobody can be asked (add it there, or a Network(domain:${request.host}) allow rule)`,
      }
    }
    return gate(request)
  }

  /** The address to connect to, or why not: resolved once, here, and checked. */
  private async address(host: string): Promise<{ address: string } | { refusal: string }> {
    const mapped = this.hosts.get(host)
    if (mapped !== undefined) return { address: mapped }
    let addresses: readonly string[]
    try {
      addresses = isIP(host) !== 0 ? [host] : await this.lookup(host)
    } catch (error) {
      return { refusal: `cannot resolve ${host}: ${error instanceof Error ? error.message : String(error)}` }
    }
    const usable = addresses.find((address) => !forbiddenAddress(address))
    if (usable) return { address: usable }
    return {
      refusal: `${host} resolves to ${addresses.join(', ') || 'nothing'}: loopback, link-local and unspecified addresses are never reachable from the sandbox`,
    }
  }

  private async serve(
    socket: Socket,
    decide: (request: NetworkRequest) => Promise<NetworkVerdict>,
    refuse: (request: NetworkRequest, reason: string) => void,
  ): Promise<void> {
    const reader = new Reader(socket)
    const first = await reader.peek()
    if (first === 5) return this.serveSocks(socket, reader, decide, refuse)
    return this.serveHttp(socket, reader, decide, refuse)
  }

  /** Decides, resolves and connects; the upstream socket, or the refusal's reason. */
  private async connect(
    request: NetworkRequest,
    decide: (request: NetworkRequest) => Promise<NetworkVerdict>,
    refuse: (request: NetworkRequest, reason: string) => void,
  ): Promise<Socket | { refusal: string; code: 'rule' | 'address' | 'connect' }> {
    const verdict = await decide(request)
    if (!verdict.allowed) {
      refuse(request, verdict.reason)
      return { refusal: verdict.reason, code: 'rule' }
    }
    const target = await this.address(request.host)
    if ('refusal' in target) {
      refuse(request, target.refusal)
      return { refusal: target.refusal, code: 'address' }
    }
    const upstream = createConnection({ host: target.address, port: request.port })
    this.sockets.add(upstream)
    upstream.on('close', () => this.sockets.delete(upstream))
    try {
      await new Promise<void>((resolve, reject) => {
        upstream.once('connect', resolve)
        upstream.once('error', reject)
      })
    } catch (error) {
      upstream.destroy()
      return { refusal: error instanceof Error ? error.message : String(error), code: 'connect' }
    }
    upstream.on('error', () => {})
    return upstream
  }

  private splice(socket: Socket, reader: Reader, upstream: Socket, first?: Buffer): void {
    const rest = reader.release()
    if (first) upstream.write(first)
    if (rest.length > 0) upstream.write(rest)
    socket.pipe(upstream)
    upstream.pipe(socket)
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
  }

  private async serveHttp(
    socket: Socket,
    reader: Reader,
    decide: (request: NetworkRequest) => Promise<NetworkVerdict>,
    refuse: (request: NetworkRequest, reason: string) => void,
  ): Promise<void> {
    const reply = (status: string, text: string) =>
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      )
    let head: string
    try {
      head = await reader.head()
    } catch {
      return void reply('400 Bad Request', '[sandbox] not an HTTP proxy request\n')
    }
    const [line = '', ...headers] = head.slice(0, -4).split('\r\n')
    const [method = '', target = '', version = 'HTTP/1.1'] = line.split(' ')
    let authority: { host: string; port: number } | undefined
    let path = '/'
    if (method.toUpperCase() === 'CONNECT') {
      authority = splitAuthority(target, 443)
    } else {
      const url = /^http:\/\/([^/?#]+)([^#]*)$/i.exec(target)
      if (url) {
        authority = splitAuthority(url[1]!, 80)
        path = url[2] || '/'
      }
    }
    if (!authority) {
      return void reply(
        '400 Bad Request',
        `[sandbox] the proxy takes CONNECT host:port or an http:// URL, not '${line}'\n`,
      )
    }
    const request: NetworkRequest = {
      ...authority,
      via: method.toUpperCase() === 'CONNECT' ? 'connect' : 'http',
    }
    const upstream = await this.connect(request, decide, refuse)
    if ('refusal' in upstream) {
      const status = upstream.code === 'connect' ? '502 Bad Gateway' : '403 Forbidden'
      return void reply(
        status,
        `[sandbox] refused: network to ${request.host}:${request.port}: ${upstream.refusal}\n`,
      )
    }
    if (request.via === 'connect') {
      socket.write(`${version} 200 Connection Established\r\n\r\n`)
      return this.splice(socket, reader, upstream)
    }
    // Plain HTTP: origin-form, the Host the decision was about, no proxy headers, one request.
    const hostHeader = request.port === 80 ? request.host : `${request.host}:${request.port}`
    const kept = headers.filter((h) => !/^(host|proxy-[a-z-]*|connection|keep-alive)\s*:/i.test(h))
    const rewritten = [`${method} ${path} ${version}`, `Host: ${hostHeader}`, ...kept, 'Connection: close']
    this.splice(socket, reader, upstream, Buffer.from(`${rewritten.join('\r\n')}\r\n\r\n`, 'latin1'))
  }

  private async serveSocks(
    socket: Socket,
    reader: Reader,
    decide: (request: NetworkRequest) => Promise<NetworkVerdict>,
    refuse: (request: NetworkRequest, reason: string) => void,
  ): Promise<void> {
    const [, methods = 0] = await reader.bytes(2)
    const offered = await reader.bytes(methods)
    if (!offered.includes(0)) return void socket.end(Buffer.from([5, 0xff]))
    socket.write(Buffer.from([5, 0]))
    const [version, command, , type] = await reader.bytes(4)
    const fail = (code: number) => socket.end(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
    let host: string
    if (type === 1) host = [...(await reader.bytes(4))].join('.')
    else if (type === 3) host = (await reader.bytes((await reader.bytes(1))[0]!)).toString('latin1')
    else if (type === 4) {
      const raw = await reader.bytes(16)
      const groups: string[] = []
      for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16))
      host = groups.join(':')
    } else return void fail(8)
    const port = (await reader.bytes(2)).readUInt16BE(0)
    // CONNECT only: BIND and UDP ASSOCIATE would open the sandbox to inbound traffic.
    if (version !== 5 || command !== 1) return void fail(7)
    const request: NetworkRequest = { host: normalizeHost(host), port, via: 'socks5' }
    const upstream = await this.connect(request, decide, refuse)
    if ('refusal' in upstream) return void fail(upstream.code === 'connect' ? 5 : 2)
    socket.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]))
    this.splice(socket, reader, upstream)
  }
}
