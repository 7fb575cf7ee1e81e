/**
 * One Server-Sent Events response: `id: <seq>`, `event: <name>`, `data: <json>` per event, a
 * comment line every 15 s so idle connections stay open through proxies, and an AbortSignal that
 * fires when the client goes away.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { idOf, type StreamItem } from './stream-buffer.js'

export interface SseResponse {
  /** An item of the sequence (with its id), or a snapshot without one. */
  send(message: { item: StreamItem } | { event: string; data: unknown }): void
  end(): void
  readonly signal: AbortSignal
}

const HEARTBEAT_MS = 15_000

export function openSse(request: FastifyRequest, reply: FastifyReply): SseResponse {
  reply.hijack()
  const raw = reply.raw
  const controller = new AbortController()
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...corsHeadersOf(reply),
  })
  raw.flushHeaders()
  const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS)
  const close = () => {
    clearInterval(heartbeat)
    controller.abort()
  }
  request.raw.on('close', close)
  raw.on('close', close)
  return {
    signal: controller.signal,
    send(message) {
      if (raw.destroyed || raw.writableEnded) return
      if ('item' in message) {
        const { item } = message
        raw.write(`id: ${idOf(item)}\nevent: ${item.event}\ndata: ${JSON.stringify(item.data)}\n\n`)
      } else raw.write(`event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`)
    },
    end() {
      clearInterval(heartbeat)
      if (!raw.writableEnded) raw.end()
    },
  }
}

/** The CORS headers the onRequest hook decided on (a hijacked reply skips Fastify's headers). */
function corsHeadersOf(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of ['access-control-allow-origin', 'vary']) {
    const value = reply.getHeader(name)
    if (typeof value === 'string') headers[name] = value
  }
  return headers
}
