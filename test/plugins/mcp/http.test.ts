// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} references in MCP configs are the subject here
/**
 * Remote servers: server-everything started by the test in its streamableHttp and sse modes on a
 * loopback port; the fallback from streamable HTTP to SSE on a 4xx; custom headers on both.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EVERYTHING_MAIN, mcpKernel, runTool, textOf } from './helpers.js'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startEverything(
  mode: 'streamableHttp' | 'sse',
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  const child = spawn(process.execPath, [EVERYTHING_MAIN, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Killed after the file even when the other server failed to start (and beforeAll with it).
  started.push(child)
  // No limit of its own: vitest's hookTimeout (vitest.config.ts) catches a server that never
  // starts; one that exits fails at once. Starting it takes well over 10 s on a busy machine.
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/listening|running/i.test(String(chunk))) resolve()
    })
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited ${code}`)))
  })
  child.stdout?.resume()
  return { child, port }
}

const started: ChildProcess[] = []
let http: { child: ChildProcess; port: number }
let sse: { child: ChildProcess; port: number }

beforeAll(async () => {
  ;[http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')])
})

afterAll(() => {
  for (const child of started) child.kill()
})

describe('mcp over HTTP', () => {
  it('connects over streamable HTTP, over SSE, and falls back from HTTP to SSE on a 4xx', async () => {
    const ctx = await mcpKernel({
      mcpServers: {
        streamable: { type: 'http', url: `http://127.0.0.1:${http.port}/mcp` },
        legacy: { type: 'sse', url: `http://127.0.0.1:${sse.port}/sse` },
        // The SSE server answers a POST to /sse with 404: the spec's signal to use HTTP+SSE.
        fallback: { url: `http://127.0.0.1:${sse.port}/sse` },
      },
    })
    try {
      const byName = Object.fromEntries(
        ctx
          .servers()
          .list()
          .map((s) => [s.name, s]),
      )
      expect(byName.streamable).toMatchObject({ transport: 'http', status: 'connected' })
      expect(byName.legacy).toMatchObject({ transport: 'sse', status: 'connected' })
      expect(byName.fallback).toMatchObject({ transport: 'sse', status: 'connected' })
      for (const name of ['streamable', 'legacy', 'fallback']) {
        const out = await runTool(ctx.registry(), `mcp__${name}__echo`, { message: name })
        expect(textOf(out)).toBe(`Echo: ${name}`)
      }
      const progress: Array<{ message: string; data: unknown }> = []
      await runTool(
        ctx.registry(),
        'mcp__streamable__trigger-long-running-operation',
        { duration: 0.2, steps: 2 },
        { progress },
      )
      expect(progress[0]).toEqual({ message: '1/2', data: { progress: 1, total: 2 } })
    } finally {
      await ctx.kernel.stop()
    }
  })

  it('sends custom headers (with ${VAR} expanded) on the streamable HTTP POST and on the SSE fallback GET', async () => {
    const seen: Array<{ method: string; headers: IncomingHttpHeaders }> = []
    const recorder = createServer((req, res) => {
      seen.push({ method: req.method ?? '', headers: req.headers })
      res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve))
    const { port } = recorder.address() as AddressInfo
    process.env.TAU_MCP_TEST_BEARER = 'sekrit'
    const ctx = await mcpKernel({
      mcpServers: {
        remote: {
          type: 'http',
          url: `http://127.0.0.1:${port}/mcp`,
          headers: { Authorization: 'Bearer ${TAU_MCP_TEST_BEARER}', 'X-Team': '${TAU_MCP_TEST_TEAM:-core}' },
          retry: { baseDelayMs: 60_000 },
        },
      },
    })
    try {
      expect(ctx.servers().get('remote')).toMatchObject({ status: 'failed', transport: 'sse' })
      expect(seen.map((r) => r.method)).toEqual(['POST', 'GET'])
      for (const request of seen) {
        expect(request.headers.authorization).toBe('Bearer sekrit')
        expect(request.headers['x-team']).toBe('core')
      }
    } finally {
      await ctx.kernel.stop()
      await new Promise((resolve) => recorder.close(resolve))
    }
  })
})
