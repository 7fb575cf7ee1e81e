#!/usr/bin/env node
/**
 * MCP client overhead, two figures (no assertions; see docs/benchmarks.md):
 *
 * 1. Tool-call round trip. The real @modelcontextprotocol/server-everything over stdio, twice (one
 *    process each side):
 *      A (tau)   the tau tool `mcp__everything__echo` from the tool registry of a kernel with the
 *                sandbox, tools and mcp plugins: input validated as the agent does, then execute()
 *                (the SDK call, the result mapped to a tau ToolOutput);
 *      B (bare)  a bare SDK Client.callTool({ name: 'echo' }) on its own StdioClientTransport.
 *    Calls run in blocks of 100 per variant, the order rotating each round (so each call follows
 *    one to the same server, and drift hits all alike); the medians of the per-call times and
 *    their ratio are printed (target: A/B at most 1.05). A third variant, the bare client with
 *    the request options tau passes, shows what the options themselves cost.
 *
 * 2. Start-up of 10 stdio servers in parallel: a kernel with 10 server-everything entries, timed
 *    from kernel.start() (the `start` tap connects them) to its return, when all 10 are connected
 *    and their tools registered; beside it, 10 bare SDK clients connecting and listing tools in
 *    parallel.
 *
 * Usage: node bench/mcp-roundtrip.mjs [calls] [startRuns]   (default 2000 calls, 5 start-up runs)
 * Loads the TypeScript sources through jiti. TAU_HOME is a temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const calls = Number(process.argv[2] ?? 2000)
const startRuns = Number(process.argv[3] ?? 5)
const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tau-bench-mcp-'))
process.env.TAU_HOME = join(work, 'home')
const SERVER = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')

const { createJiti } = await import('jiti')
const jiti = createJiti(import.meta.url)
const load = (relative) => jiti.import(join(root, `${relative}.ts`))

const { createTestKernel } = await load('kernel/testing/index')
const { createLogger } = await load('kernel/index')
const mcpModule = await load('plugins/mcp/index')
const { default: sandbox } = await load('plugins/sandbox/index')
const toolsModule = await load('plugins/tools/index')
const { Client } = await import('@modelcontextprotocol/sdk/client/index.js')
const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js')

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const fmt = (ms) => `${ms.toFixed(3)} ms`

function kernelWith(servers) {
  return createTestKernel({
    plugins: [sandbox, toolsModule.default, mcpModule.default],
    config: { mcpServers: servers },
    cwd: work,
    logLevel: 'warn',
    start: false,
  })
}

async function bareClient() {
  const client = new Client({ name: 'bare', version: '1.0.0' }, { capabilities: {} })
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [SERVER, 'stdio'], stderr: 'pipe' }),
  )
  return client
}

try {
  // 1. Round trip.
  const kernel = await kernelWith({ everything: { command: process.execPath, args: [SERVER, 'stdio'] } })
  await kernel.start()
  const tool = kernel.resolve(toolsModule.toolRegistryRef).get('mcp__everything__echo')
  if (!tool) throw new Error('mcp__everything__echo is not registered')
  const context = {
    signal: new AbortController().signal,
    env: {},
    sessionId: 'bench',
    callId: 'c',
    state: toolsModule.createToolState(),
    progress() {},
    logger: createLogger('bench', { level: 'error', sink() {} }),
    model: { vision: false },
  }
  const bare = await bareClient()
  const input = { message: 'hello from the benchmark' }
  const viaTau = async () => {
    const checked = await tool.input['~standard'].validate(input)
    if (checked.issues) throw new Error('invalid input')
    const output = await tool.execute(checked.value, context)
    if (output.content[0]?.text !== 'Echo: hello from the benchmark') throw new Error('unexpected tau output')
  }
  const viaBare = async () => {
    const result = await bare.callTool({ name: 'echo', arguments: input })
    if (result.content[0]?.text !== 'Echo: hello from the benchmark')
      throw new Error('unexpected bare output')
  }
  // The same SDK call with the request options tau passes (progress token, timeout, a signal of
  // its own: the SDK leaves a listener on the signal it gets, so a shared one would grow).
  const withOptions = async () => {
    const result = await bare.callTool({ name: 'echo', arguments: input }, undefined, {
      signal: new AbortController().signal,
      timeout: 120_000,
      onprogress() {},
    })
    if (result.content[0]?.text !== 'Echo: hello from the benchmark')
      throw new Error('unexpected bare output')
  }
  // Diagnostic: the SDK client inside tau's connection, called bare (no tau code on the path).
  const tauClient = kernel.resolve(mcpModule.mcpServersRef).connections[0].connectedClient()
  const viaTauClient = async () => {
    const result = await tauClient.callTool({ name: 'echo', arguments: input })
    if (result.content[0]?.text !== 'Echo: hello from the benchmark') throw new Error('unexpected output')
  }
  for (let i = 0; i < 200; i++) {
    await viaTau()
    await viaBare()
  }
  // Blocks of BLOCK calls per variant, the order of the variants rotating from round to round.
  // Calls are not interleaved one by one: on a 2-core machine a call to a server process that
  // was idle while the other one worked is slower (it is woken and scheduled again), and a fixed
  // interleaving gave one side the cold calls every time. Within a block each call follows a
  // call to the same server, for every variant alike; drift is spread by the rotation.
  const BLOCK = 100
  const variants = [
    [viaTau, []],
    [viaBare, []],
    [withOptions, []],
    [viaTauClient, []],
  ]
  for (let round = 0; round * BLOCK < calls; round++) {
    for (let k = 0; k < variants.length; k++) {
      const [run, times] = variants[(round + k) % variants.length]
      for (let i = 0; i < BLOCK; i++) {
        const t0 = performance.now()
        await run()
        times.push(performance.now() - t0)
      }
    }
  }
  const [a, b, c, d] = variants.map(([, times]) => times)
  const ma = median(a)
  const mb = median(b)
  process.stdout.write(
    `tool-call round trip, server-everything echo over stdio, ${a.length} calls each (blocks of ${BLOCK}, rotating):\n` +
      `  tau tool (validate + execute)  median ${fmt(ma)}\n` +
      `  bare SDK Client.callTool       median ${fmt(mb)}\n` +
      `  bare SDK, tau's request options median ${fmt(median(c))} (progress token, timeout, signal)\n` +
      `  ratio tau/bare                 ${(ma / mb).toFixed(3)}x (target <= 1.05x)\n` +
      `  ratio tau/bare-with-options    ${(ma / median(c)).toFixed(3)}x\n` +
      `  tau's own SDK client, bare call median ${fmt(median(d))} (the connection without tau's code)\n` +
      `  ratio tau/own-client           ${(ma / median(d)).toFixed(3)}x\n`,
  )
  // The same server and connection, tau's tool and its SDK client alternating call by call:
  // the closest reading of "tau against a bare call to the same server" (in blocks, the order of
  // the blocks moves this pair by more than tau's own cost).
  const same = { tau: [], client: [] }
  for (let i = 0; i < calls; i++) {
    const pair =
      i % 2
        ? [
            ['tau', viaTau],
            ['client', viaTauClient],
          ]
        : [
            ['client', viaTauClient],
            ['tau', viaTau],
          ]
    for (const [name, run] of pair) {
      const t0 = performance.now()
      await run()
      same[name].push(performance.now() - t0)
    }
  }
  process.stdout.write(
    `same connection, alternating call by call, ${same.tau.length} calls each:\n` +
      `  tau tool median ${fmt(median(same.tau))}, its SDK client median ${fmt(median(same.client))}\n` +
      `  ratio                          ${(median(same.tau) / median(same.client)).toFixed(3)}x (target <= 1.05x)\n`,
  )
  await bare.close()
  await kernel.stop()

  // 2. Start-up of 10 servers in parallel.
  const servers = Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`s${i}`, { command: process.execPath, args: [SERVER, 'stdio'] }]),
  )
  const tauTimes = []
  const bareTimes = []
  for (let run = 0; run < startRuns; run++) {
    const k = await kernelWith(servers)
    const t0 = performance.now()
    await k.start()
    tauTimes.push(performance.now() - t0)
    const list = k.resolve(mcpModule.mcpServersRef).list()
    if (list.some((s) => s.status !== 'connected')) throw new Error('a server did not connect')
    await k.stop()
    const t1 = performance.now()
    const clients = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const client = await bareClient()
        await client.listTools()
        return client
      }),
    )
    bareTimes.push(performance.now() - t1)
    await Promise.all(clients.map((c) => c.close()))
  }
  process.stdout.write(
    `start-up of 10 stdio servers in parallel, ${startRuns} runs:\n` +
      `  tau kernel.start() to all connected  median ${fmt(median(tauTimes))} (runs: ${tauTimes.map((t) => t.toFixed(0)).join(', ')})\n` +
      `  10 bare SDK connect + listTools      median ${fmt(median(bareTimes))} (runs: ${bareTimes.map((t) => t.toFixed(0)).join(', ')})\n`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
