#!/usr/bin/env node
/**
 * MCP client overhead, two figures (no assertions; see docs/benchmarks.md):
 *
 * 1. Tool-call round trip: the real @modelcontextprotocol/server-everything over stdio. Each figure
 *    is a two-way A/B, the two sides alternating call by call with the order swapping each pair
 *    (so each side follows the other as often as itself; a mix of more variants changes what
 *    each reads: see docs/benchmarks.md, providers). The sides:
 *      tau           the tau tool `mcp__everything__echo` from the tool registry of a kernel with
 *                    the sandbox, tools and mcp plugins: input validated as the agent does, then
 *                    execute() (the SDK call, the result mapped to a tau ToolOutput);
 *      client        the SDK client inside that connection, called bare (Client.callTool): the
 *                    same server process, so no scheduling noise between two servers. The
 *                    headline (target: tau at most 1.05x);
 *      client+token  the same bare call with a progress token in `_meta`, as tau sends (servers
 *                    need one to report progress): what the token itself costs;
 *      other         a bare SDK client on a second server process of its own;
 *      other+options that client with the request options a progress-aware caller passes
 *                    (onprogress, timeout, a signal).
 *
 * 2. Start-up of 10 stdio servers in parallel: a kernel with 10 server-everything entries, timed
 *    from kernel.start() (the `start` tap connects them) to its return, when all 10 are connected
 *    and their tools registered; beside it, 10 bare SDK clients connecting and listing tools in
 *    parallel.
 *
 * Usage: node bench/mcp-roundtrip.mjs [calls] [startRuns]   (default 2000 calls, 5 start-up runs)
 * Needs `npm run build`: it runs dist/, the code the `tau` command runs. TAU_HOME is a temporary
 * directory.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

const calls = Number(process.argv[2] ?? 2000)
const startRuns = Number(process.argv[3] ?? 5)
const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'tau-bench-mcp-'))
process.env.TAU_HOME = join(work, 'home')
const SERVER = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')

if (!existsSync(join(root, 'dist', 'kernel', 'testing', 'index.js'))) {
  console.error('bench/mcp-roundtrip.mjs: dist/ is missing; run `npm run build` first')
  process.exit(1)
}
const load = (relative) => import(pathToFileURL(join(root, 'dist', `${relative}.js`)).href)

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
  const check = (result, who) => {
    if (result.content[0]?.text !== 'Echo: hello from the benchmark')
      throw new Error(`unexpected ${who} output`)
  }
  const tauClient = kernel.resolve(mcpModule.mcpServersRef).connections[0].connectedClient()
  let token = 0
  const variants = {
    tau: viaTau,
    client: async () => check(await tauClient.callTool({ name: 'echo', arguments: input }), 'client'),
    'client+token': async () =>
      check(
        await tauClient.callTool({ name: 'echo', arguments: input, _meta: { progressToken: 1e9 + ++token } }),
        'client',
      ),
    other: async () => check(await bare.callTool({ name: 'echo', arguments: input }), 'bare'),
    // A signal of its own per call: the SDK leaves a listener on the signal it gets.
    'other+options': async () =>
      check(
        await bare.callTool({ name: 'echo', arguments: input }, undefined, {
          signal: new AbortController().signal,
          timeout: 120_000,
          onprogress() {},
        }),
        'bare',
      ),
  }
  /** An A/B of two variants, alternating call by call, the order swapping each pair. */
  async function ab(a, b) {
    const times = { [a]: [], [b]: [] }
    for (let i = 0; i < 300; i++) {
      await variants[a]()
      await variants[b]()
    }
    for (let i = 0; i < calls; i++) {
      for (const name of i % 2 ? [a, b] : [b, a]) {
        const t0 = performance.now()
        await variants[name]()
        times[name].push(performance.now() - t0)
      }
    }
    return [median(times[a]), median(times[b])]
  }
  const rows = [
    ['tau', 'client', "tau's tool / its connection's SDK client, bare (target <= 1.05x)"],
    ['client+token', 'client', 'what the progress token costs: the bare call with one / without'],
    ['tau', 'client+token', 'tau / the bare call with the same progress token'],
    ['tau', 'other', 'tau / a bare SDK client on a server process of its own'],
    ['tau', 'other+options', 'tau / that client with onprogress, timeout and a signal'],
  ]
  process.stdout.write(
    `tool-call round trip, server-everything echo over stdio, ${calls} calls per side, alternating:\n`,
  )
  for (const [a, b, label] of rows) {
    const [ma, mb] = await ab(a, b)
    process.stdout.write(
      `  ${a.padEnd(12)} ${fmt(ma)}  ${b.padEnd(13)} ${fmt(mb)}  ${(ma / mb).toFixed(3)}x  ${label}\n`,
    )
  }
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
  if (startRuns > 0)
    process.stdout.write(
      `start-up of 10 stdio servers in parallel, ${startRuns} runs:\n` +
        `  tau kernel.start() to all connected  median ${fmt(median(tauTimes))} (runs: ${tauTimes.map((t) => t.toFixed(0)).join(', ')})\n` +
        `  10 bare SDK connect + listTools      median ${fmt(median(bareTimes))} (runs: ${bareTimes.map((t) => t.toFixed(0)).join(', ')})\n`,
    )
} finally {
  rmSync(work, { recursive: true, force: true })
}
