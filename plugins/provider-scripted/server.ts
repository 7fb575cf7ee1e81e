/**
 * A scripted model server on loopback that speaks a provider's real wire format: Ollama's
 * NDJSON API, OpenAI's chat completions with SSE, or Anthropic's Messages API with SSE. Tests
 * (tau's and plugin authors') point a real provider at it instead of at a model.
 *
 *   const server = await startScriptedServer({ format: 'openai', script: [{ text: 'hi' }] })
 *   // ... configure the provider with baseURL: server.url ...
 *   expect(server.requests[0].body).toMatchObject({ model: 'gpt-4o' })
 *   await server.close()
 *
 * It listens on 127.0.0.1 only. Turns carry transport faults too (status codes, Retry-After,
 * slow first bytes, streams cut at any byte, dropped connections, raw malformed bodies).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Script, ScriptTurn } from './script.js'
import type { ScriptedModel, WireRenderer, WireRequest, WireResponse } from './wire/types.js'

export type WireFormat = 'ollama' | 'openai' | 'anthropic'

export interface ScriptedServerOptions {
  readonly format: WireFormat
  readonly script: Script | readonly ScriptTurn[]
  readonly models?: readonly ScriptedModel[]
  /** Embedding of one text (default: a small deterministic vector from its characters). */
  readonly embed?: (text: string) => number[]
  /** Default 0: any free port. */
  readonly port?: number
  /** Listen address (default 127.0.0.1; a test's network namespace may give its bridge address). */
  readonly host?: string
  /**
   * A turn computed from each model request instead of the next turn of the script: for many
   * conversations at once, in any order (each answered from its own messages).
   */
  readonly respond?: (request: WireRequest) => ScriptTurn | undefined
}

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** Every request received, in order. */
  readonly requests: WireRequest[]
  /** Number of connections the server accepted (keep-alive reuse shows as fewer than requests). */
  readonly connections: () => number
  /** Turns not yet played. */
  remaining(): number
  /** Appends turns to the script. */
  push(...turns: ScriptTurn[]): void
  close(): Promise<void>
}

const renderers: Record<WireFormat, () => Promise<WireRenderer>> = {
  ollama: () => import('./wire/ollama.js').then((m) => m.ollamaWire),
  openai: () => import('./wire/openai.js').then((m) => m.openaiWire),
  anthropic: () => import('./wire/anthropic.js').then((m) => m.anthropicWire),
}

/** A deterministic stand-in embedding: 8 numbers from the text's characters. */
export function defaultEmbedding(text: string): number[] {
  const vector = new Array<number>(8).fill(0)
  for (let i = 0; i < text.length; i++) vector[i % 8]! += text.charCodeAt(i) / 1000
  const norm = Math.hypot(...vector) || 1
  return vector.map((v) => Number((v / norm).toFixed(6)))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function write(res: ServerResponse, response: WireResponse): Promise<void> {
  const turn = response.turn
  if (turn?.firstByteDelayMs) await sleep(turn.firstByteDelayMs)
  res.writeHead(response.status, response.headers)
  res.flushHeaders()
  let pieces: Buffer[] = response.chunks.map((chunk) => Buffer.from(chunk, 'utf8'))
  if (turn?.chunkBytes) {
    const all = Buffer.concat(pieces)
    pieces = []
    for (let i = 0; i < all.length; i += turn.chunkBytes) pieces.push(all.subarray(i, i + turn.chunkBytes))
  }
  let sent = 0
  for (const piece of pieces) {
    if (res.destroyed) return
    if (turn?.dropAfterBytes !== undefined && sent + piece.length > turn.dropAfterBytes) {
      const rest = turn.dropAfterBytes - sent
      if (rest > 0) res.write(piece.subarray(0, rest))
      // Let the partial bytes leave, then cut the connection without a proper end.
      await sleep(20)
      res.socket?.destroy()
      return
    }
    res.write(piece)
    sent += piece.length
    if (turn?.chunkDelayMs) await sleep(turn.chunkDelayMs)
  }
  res.end()
}

export async function startScriptedServer(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const renderer = await renderers[options.format]()
  const turns: ScriptTurn[] = [...('turns' in options.script ? options.script.turns : options.script)]
  const requests: WireRequest[] = []
  const sockets = new Set<Socket>()
  let connectionCount = 0
  let current: WireRequest | undefined
  const context = {
    next: () => (options.respond && current ? options.respond(current) : turns.shift()),
    models: options.models ?? [
      { name: 'scripted-model', capabilities: ['completion', 'tools'], contextLength: 32_768 },
    ],
    embed: options.embed ?? defaultEmbedding,
  }
  const server: Server = createServer(async (req, res) => {
    try {
      const rawBody = await readBody(req)
      let body: unknown
      try {
        body = rawBody === '' ? undefined : JSON.parse(rawBody)
      } catch {
        body = undefined
      }
      const request: WireRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        rawBody,
      }
      requests.push(request)
      current = request
      const response = renderer.handle(request, context)
      if (!response) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: `no route ${request.path}` }))
        return
      }
      await write(res, response)
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
    }
  })
  server.on('connection', (socket) => {
    connectionCount++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    requests,
    connections: () => connectionCount,
    remaining: () => turns.length,
    push: (...more) => {
      turns.push(...more)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** The answer when the script has no turn left: a 500 the test will notice. */
export function exhausted(format: WireFormat): WireResponse {
  return {
    status: 500,
    headers: { 'content-type': 'application/json' },
    chunks: [
      JSON.stringify({ error: { message: `scripted ${format} server: the script has no turn left` } }),
    ],
  }
}
