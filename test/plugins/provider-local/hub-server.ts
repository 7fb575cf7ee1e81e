/**
 * A loopback HTTP server standing in for the Hugging Face hub: the repository file listing
 * (`/api/models/USER/REPO/tree/main`, with size and LFS SHA-256) and file downloads
 * (`/USER/REPO/resolve/main/FILE`, redirected to a "CDN" path as the hub does) with Range support.
 * Faults on demand: cut the connection after N bytes, stall after the headers, list a wrong hash.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HubRequest {
  readonly url: string
  readonly range: string | undefined
  readonly authorization: string | undefined
}

export interface FakeHub {
  readonly url: string
  readonly requests: HubRequest[]
  /** The next download sends this many bytes, then cuts the connection. */
  cutNextAfter(bytes: number): void
  /** Downloads send the headers and a few bytes, then nothing. */
  stall(on: boolean): void
  /** The listing gives this SHA-256 instead of the real one. */
  lieAboutHash(sha: string | undefined): void
  close(): Promise<void>
}

export async function startFakeHub(repo: string, files: Record<string, Buffer>): Promise<FakeHub> {
  const requests: HubRequest[] = []
  let cutAfter: number | undefined
  let stalled = false
  let fakeSha: string | undefined
  const sockets = new Set<import('node:net').Socket>()
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/'
    requests.push({ url, range: req.headers.range, authorization: req.headers.authorization })
    if (url.startsWith(`/api/models/${repo}/tree/main`)) {
      const listing = [
        { type: 'file', path: 'README.md', size: 10 },
        ...Object.entries(files).map(([path, data]) => ({
          type: 'file',
          path,
          size: data.length,
          lfs: { oid: fakeSha ?? createHash('sha256').update(data).digest('hex'), size: data.length },
        })),
      ]
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(listing))
      return
    }
    if (url.startsWith('/api/models/')) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":"Repository not found"}')
      return
    }
    const resolvePrefix = `/${repo}/resolve/main/`
    if (url.startsWith(resolvePrefix)) {
      res.writeHead(302, { location: `/cdn/${url.slice(resolvePrefix.length)}` })
      res.end()
      return
    }
    const name = decodeURIComponent(url.slice('/cdn/'.length))
    const data = url.startsWith('/cdn/') ? files[name] : undefined
    if (!data) {
      res.writeHead(404)
      res.end('Entry not found')
      return
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const from = range ? Number(range[1]) : 0
    if (from >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` })
      res.end()
      return
    }
    const body = data.subarray(from)
    res.writeHead(range ? 206 : 200, {
      'content-length': String(body.length),
      ...(range ? { 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` } : {}),
      'accept-ranges': 'bytes',
    })
    if (stalled) {
      res.write(body.subarray(0, 16))
      return
    }
    if (cutAfter !== undefined) {
      const n = cutAfter
      cutAfter = undefined
      res.write(body.subarray(0, n), () => {
        // Give the bytes time to leave before the connection is cut.
        setImmediate(() => req.socket.destroy())
      })
      return
    }
    res.end(body)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutNextAfter(bytes) {
      cutAfter = bytes
    },
    stall(on) {
      stalled = on
    },
    lieAboutHash(sha) {
      fakeSha = sha
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
