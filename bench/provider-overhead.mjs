#!/usr/bin/env node
/**
 * Per-request overhead of tau's model-call path against a bare undici request to the same
 * loopback server, for each HTTP provider (ollama, openai, anthropic).
 *
 *   A (tau)   registry.complete(request): the `providers` registry, the real provider plugin
 *             (request body, HttpClient with its keep-alive undici Pool, stream parser) and
 *             collectStream, in a kernel made by createTestKernel({ plugins: [providers, X] }).
 *   B (bare)  undici's request(url, { dispatcher: pool }) on a keep-alive Pool, posting the same
 *             body (JSON.stringify of what tau sent, with the same headers) and reading the whole
 *             response with body.text().
 *   C         the same with pool.request() (what HttpClient calls), a second, cheaper baseline.
 *
 * The server is a minimal node:http server in a child process, listening on 127.0.0.1 only. It
 * reads the request body and answers at once with a fixed short streamed answer in the provider's
 * wire format (four text deltas, usage, finish), rendered once by the scripted server's renderers
 * (plugins/provider-scripted/wire/*.ts) so the bytes are exact.
 *
 * Per provider: an untimed check that tau's answer is right and that the bare client reads the
 * same bytes, WARMUP untimed rounds, then RUNS rounds of an A/B: each round runs tau and the bare
 * request once, the order swapping from round to round, so each follows the other as often as
 * itself. Only two-way: what else runs in the mix changes the figures (a variant that makes up
 * more of the mix keeps its code in the CPU's caches and runs faster; see docs/benchmarks.md), so
 * the cheaper baseline C is measured in an A/B of its own against B. Prints the medians, the ratio
 * of the medians (the issue's target: tau at most 1.1x bare), the median of the per-round ratios
 * and differences, and the 10th to 90th percentiles. Then a breakdown, each row an A/B of its own
 * against the bare request: the same request through more and more of tau's layers; and the
 * phases of tau's and the bare request (before the request is written, until the response
 * headers, until its end, and after it), from undici's diagnostics channels.
 * Each provider runs in a process of its own, then all of them together in one process, one after
 * the other (tau's shared code has served another provider first), a figure of its own. The
 * headline's warm-up is long (TAU_BENCH_WARMUP): after a short one, a provider measured second in
 * a process read 10 to 20 µs slower on tau's side. Figures only, no assertions on time (see
 * docs/benchmarks.md).
 *
 * Usage: node bench/provider-overhead.mjs [runs]     (needs npm run build; default 500 runs)
 *        TAU_BENCH_PROVIDERS=openai,ollama  some providers only
 *        TAU_BENCH_WARMUP=2000              warm-up rounds before the headline (later A/Bs: 300)
 *        TAU_BENCH_BREAKDOWN=0              skip the breakdown
 *        TAU_BENCH_GAP_MS=1                 leave the event loop idle this long before each timed
 *                                           request (default 0: back to back)
 *        TAU_BENCH_ONLY=tau|bare            time one side only (for node --cpu-prof)
 *        TAU_BENCH_SERVER=inprocess         the server in this process instead of a child
 *        TAU_BENCH_MIXED=1                  every provider in this process, one after the other
 *                                           (by default each runs in a process of its own, then
 *                                           all of them in one, headline only)
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched, and no
 * request leaves 127.0.0.1.
 */
import { fork, spawnSync } from 'node:child_process'
import diagnostics from 'node:diagnostics_channel'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const TARGET = 1.1
/** Idle time before each timed request (TAU_BENCH_GAP_MS), as between the turns of an agent. */
const GAP_MS = Number(process.env.TAU_BENCH_GAP_MS ?? 0)
const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const here = fileURLToPath(import.meta.url)
/** Imports a module of the build. */
const load = (...path) => import(pathToFileURL(join(dist, ...path)).href)

// ---------------------------------------------------------------------------------------------
// The loopback server: routes by path to a fixed, pre-rendered answer.

/**
 * answers: path -> { headers, body }. The first request on each path is reported (headers and
 * parsed body) through onFirst, so the bare client can post exactly what tau sent.
 */
function serve(answers, onListening, onFirst, onConnection) {
  const reported = new Set()
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const report = !reported.has(path)
    const chunks = []
    if (report) req.on('data', (chunk) => chunks.push(chunk))
    else req.resume()
    req.on('end', () => {
      if (report) {
        reported.add(path)
        onFirst({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      }
      const answer = answers[path]
      if (!answer || req.method !== 'POST') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
        return
      }
      // Headers, then the body as one streamed (chunked) piece: a server that answers at once.
      res.writeHead(200, answer.headers)
      res.write(answer.body)
      res.end()
    })
  })
  server.on('connection', onConnection)
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => onListening(server))
  return server
}

// ---------------------------------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const us = (ms) => `${(ms * 1000).toFixed(0)} µs`
/** A difference with its sign: +12 µs, -3 µs. */
const signed = (ms) => `${ms >= 0 ? '+' : ''}${us(ms)}`

async function startServer(answers) {
  const stats = { connections: 0 }
  const onConnection = () => stats.connections++
  const firsts = new Map()
  const onFirst = (first) => firsts.set(first.path, first)
  /** The first request tau sent on a path (it may take a moment to come over IPC). */
  const firstRequest = async (path) => {
    for (let i = 0; i < 200 && !firsts.has(path); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const first = firsts.get(path)
    if (!first) throw new Error(`the loopback server saw no request on ${path}`)
    return first
  }
  if (process.env.TAU_BENCH_SERVER === 'inprocess') {
    const server = await new Promise((resolve) => serve(answers, resolve, onFirst, onConnection))
    return {
      port: server.address().port,
      stats,
      firstRequest,
      close: () => {
        server.closeAllConnections()
        return new Promise((resolve) => server.close(resolve))
      },
    }
  }
  const child = fork(here, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const port = await new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.port !== undefined) resolve(message.port)
      if (message.first) onFirst(message.first)
      if (message.connection) onConnection()
    })
    child.once('exit', (code) => reject(new Error(`the loopback server exited (${code})`)))
    child.send(answers)
  })
  return {
    port,
    stats,
    firstRequest,
    close: async () => {
      child.removeAllListeners('exit')
      child.disconnect()
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()))
    },
  }
}

/** What a short answer looks like on each wire, and how tau is pointed at the server. */
const PROVIDERS = {
  ollama: {
    path: '/api/chat',
    model: 'qwen3:8b',
    wire: 'ollama.js',
    wireName: 'ollamaWire',
    plugin: 'provider-ollama',
    request: { stream: true },
    headers: {},
    config: (url) => ({ ollama: { host: url } }),
  },
  openai: {
    path: '/v1/chat/completions',
    model: 'gpt-4o',
    wire: 'openai.js',
    wireName: 'openaiWire',
    plugin: 'provider-openai',
    request: { stream: true, stream_options: { include_usage: true } },
    headers: { authorization: 'Bearer sk-bench-not-a-real-key-0123' },
    config: (url) => ({ openai: { baseURL: `${url}/v1`, apiKeyEnv: 'TAU_BENCH_OPENAI_KEY' } }),
  },
  anthropic: {
    path: '/v1/messages',
    model: 'claude-sonnet-4-5',
    wire: 'anthropic.js',
    wireName: 'anthropicWire',
    plugin: 'provider-anthropic',
    request: { stream: true },
    headers: { 'x-api-key': 'sk-ant-bench-not-a-real-key-0123' },
    config: (url) => ({ anthropic: { baseURL: url, apiKey: 'sk-ant-bench-not-a-real-key-0123' } }),
  },
}

/** Path -> the answer's body, to check the bare client reads it whole. */
const rendered = new Map()

const TURN = {
  text: 'Hello! How can I help you today?',
  usage: { inputTokens: 12, outputTokens: 9 },
}

async function render(name, spec) {
  const module = await load('plugins', 'provider-scripted', 'wire', spec.wire)
  const body = { model: spec.model, messages: [{ role: 'user', content: 'hi' }], ...spec.request }
  const response = module[spec.wireName].handle(
    { method: 'POST', path: spec.path, headers: spec.headers, body, rawBody: JSON.stringify(body) },
    {
      next: () => TURN,
      models: [{ name: spec.model, capabilities: ['completion', 'tools'] }],
      embed: () => [],
    },
  )
  if (response?.status !== 200) throw new Error(`${name}: the renderer did not answer 200`)
  return { headers: response.headers, body: response.chunks.join('') }
}

async function main() {
  if (!existsSync(join(dist, 'kernel', 'testing', 'index.js'))) {
    console.error('bench/provider-overhead.mjs: dist/ is missing; run `npm run build` first')
    process.exit(1)
  }
  const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 500)
  // The headline's warm-up is long: with 300 rounds, a provider measured after another in the same
  // process read 10 to 20 µs slower on tau's side (its shared code optimised anew); with 3,000 the
  // difference was gone. The later measurements follow it, so a short warm-up serves them.
  const warmup = Number(process.env.TAU_BENCH_WARMUP ?? 2000)
  const rewarm = Math.min(warmup, 300)
  const only = process.env.TAU_BENCH_ONLY
  const breakdown = only === undefined && process.env.TAU_BENCH_BREAKDOWN !== '0'
  const names = (process.env.TAU_BENCH_PROVIDERS ?? 'ollama,openai,anthropic').split(',')

  // Benches never touch the real home directory, nor a real key or a real server.
  const unknown = names.filter((name) => !(name in PROVIDERS))
  if (unknown.length > 0) {
    console.error(
      `bench/provider-overhead.mjs: unknown provider ${unknown.join(', ')} (ollama, openai, anthropic)`,
    )
    process.exit(1)
  }
  process.env.TAU_BENCH_OPENAI_KEY = PROVIDERS.openai.headers.authorization.slice('Bearer '.length)
  for (const variable of ['OLLAMA_HOST', 'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL'])
    delete process.env[variable]

  // Each provider in a process of its own (what a tau process talking to that provider sees),
  // then all of them in one (a process using several providers: tau's shared code has served
  // another provider first; see docs/benchmarks.md).
  if (names.length > 1 && process.env.TAU_BENCH_CHILD === undefined && process.env.TAU_BENCH_MIXED !== '1') {
    const child = (title, env) => {
      console.log(`\n=== ${title} ===`)
      const result = spawnSync(process.execPath, [here, ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, TAU_BENCH_CHILD: '1', ...env },
      })
      if (result.status !== 0) process.exit(result.status ?? 1)
    }
    for (const name of names) child(`${name}, in a process of its own`, { TAU_BENCH_PROVIDERS: name })
    child(`${names.join(', ')} in one process, one after the other (headline only)`, {
      TAU_BENCH_BREAKDOWN: '0',
    })
    return
  }

  const answers = {}
  for (const name of names) {
    answers[PROVIDERS[name].path] = await render(name, PROVIDERS[name])
    rendered.set(PROVIDERS[name].path, answers[PROVIDERS[name].path].body)
  }
  const home = mkdtempSync(join(tmpdir(), 'tau-bench-home-'))
  process.env.TAU_HOME = home
  let server
  try {
    server = await startServer(answers)
  } catch (error) {
    rmSync(home, { recursive: true, force: true })
    throw error
  }
  const url = `http://127.0.0.1:${server.port}`

  console.log(
    `provider request overhead: tau registry.complete() vs bare undici request(), loopback server ${
      process.env.TAU_BENCH_SERVER === 'inprocess' ? 'in this process' : 'in a child process'
    }`,
  )
  console.log(
    `${runs} interleaved rounds per provider after ${warmup} warm-up rounds (${rewarm} for each later A/B)${
      GAP_MS > 0 ? `, ${GAP_MS} ms idle before each request` : ''
    }; node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )

  const setups = []
  let connections = 0
  try {
    for (const name of names) setups.push(await setUp(name, url, home, server))
    for (const setup of setups) {
      if (only === 'tau' || only === 'bare') {
        setup.results = await measure([only === 'tau' ? setup.tau : setup.bare], warmup, runs)
        continue
      }
      setup.results = await measure([setup.tau, setup.bare], warmup, runs)
      setup.reference = await measure([setup.pool, setup.bare], rewarm, runs)
    }
    if (breakdown) {
      for (const setup of setups) {
        setup.steps = []
        for (const step of setup.layers) {
          const [a, b] = await measure([step, setup.bare], rewarm, runs)
          setup.steps.push({ label: step.label, a: a.times, b: b.times })
        }
        setup.phases = await measurePhases([setup.tau, setup.bare], rewarm, runs)
      }
    }
  } finally {
    for (const setup of setups) await setup.close()
    connections = server.stats.connections
    await server.close()
    rmSync(home, { recursive: true, force: true })
  }

  console.log('')
  // Keep-alive check: a client that opened a connection per request would show it here.
  console.log(`the server accepted ${connections} connections for ${requests} timed requests and the checks`)
  if (only !== undefined) {
    for (const { name, results } of setups) {
      const times = results[0].times
      console.log(
        `${name.padEnd(10)} ${only} only: median ${us(median(times))}, p10-p90 ${us(percentile(times, 10))}-${us(percentile(times, 90))}`,
      )
    }
    return
  }
  console.log(
    'provider   tau complete()  bare request()  ratio  paired ratio  paired diff  target 1.1x   bare pool.request() / request()',
  )
  for (const { name, results, reference } of setups) {
    const [a, b] = results.map((r) => r.times)
    const ratio = median(a) / median(b)
    const [c, d] = reference.map((r) => r.times)
    console.log(
      `${name.padEnd(10)} ${us(median(a)).padStart(14)}  ${us(median(b)).padStart(14)}  ${ratio.toFixed(2).padStart(4)}x  ${paired(
        a,
        b,
      )
        .toFixed(2)
        .padStart(11)}x  ${signed(pairedDiff(a, b)).padStart(11)}  ${(
        ratio <= TARGET ? 'met' : 'NOT met'
      ).padEnd(
        11,
      )}  ${`${us(median(c))} / ${us(median(d))}`.padStart(19)}  ${(median(c) / median(d)).toFixed(2)}x`,
    )
  }
  console.log('p10-p90:')
  for (const { name, results } of setups) {
    console.log(`${name.padEnd(10)} ${results.map((r) => `${r.label} ${range(r.times)}`).join(', ')}`)
  }
  if (!breakdown) return
  console.log('')
  console.log(
    'where the time goes: the same request through more and more of tau, each row an A/B against the bare request',
  )
  for (const { name, steps } of setups) {
    console.log(`  ${name}${' '.repeat(70 - name.length)}   step    bare  paired diff  vs row above`)
    let previous = 0
    for (const step of steps) {
      const diff = pairedDiff(step.a, step.b)
      console.log(
        `    ${step.label.padEnd(70)} ${us(median(step.a)).padStart(7)} ${us(median(step.b)).padStart(7)} ${signed(diff).padStart(12)}  ${signed(diff - previous).padStart(12)}`,
      )
      previous = diff
    }
  }
  console.log('')
  console.log('phases (medians; undici diagnostics channels, an A/B of their own):')
  console.log(
    '  provider   client          before the write  write to headers  headers to end  end to resolved     total',
  )
  for (const { name, phases } of setups) {
    for (const result of phases) {
      const p = (k) => us(median(result.phases.map((phase) => phase[k])))
      console.log(
        `  ${name.padEnd(10)} ${result.label.padEnd(15)} ${p(0).padStart(16)}  ${p(1).padStart(16)}  ${p(2).padStart(14)}  ${p(3).padStart(15)}  ${us(median(result.times)).padStart(8)}`,
      )
    }
  }
  console.log('')
}

const paired = (a, b) => median(a.map((t, i) => t / b[i]))
const pairedDiff = (a, b) => median(a.map((t, i) => t - b[i]))

/** Requests sent by the timed loops (the untimed checks are left out). */
let requests = 0

const range = (times) => `${us(percentile(times, 10))}-${us(percentile(times, 90))}`

/**
 * Warm-up, then `runs` rounds; each round runs every variant once, starting from a variant that
 * rotates from round to round, so drift on the machine hits all variants alike.
 */
async function measure(variants, warmup, runs) {
  requests += variants.length * (warmup + runs)
  for (let i = 0; i < warmup; i++) for (const variant of variants) await variant.run()
  const results = variants.map((variant) => ({ ...variant, times: [], phases: variant.phases ?? [] }))
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < results.length; k++) {
      const result = results[(i + k) % results.length]
      if (GAP_MS > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS))
      const started = performance.now()
      phase.start = started
      await result.run()
      const ended = performance.now()
      result.times.push(ended - started)
      if (phase.on) {
        result.phases.push([
          phase.write - started,
          phase.headers - phase.write,
          phase.end - phase.headers,
          ended - phase.end,
        ])
      }
    }
  }
  return results
}

/** When undici wrote the request, got the response headers, and saw its end (measurePhases). */
const phase = { on: false, start: 0, write: 0, headers: 0, end: 0 }
const onWrite = () => {
  phase.write = performance.now()
}
const onHeaders = () => {
  phase.headers = performance.now()
}
const onEnd = () => {
  phase.end = performance.now()
}

/** measure() with undici's diagnostics channels subscribed (they cost both sides alike). */
async function measurePhases(variants, warmup, runs) {
  const channels = [
    ['undici:client:sendHeaders', onWrite],
    ['undici:request:headers', onHeaders],
    ['undici:request:trailers', onEnd],
  ]
  for (const [channel, listener] of channels) diagnostics.subscribe(channel, listener)
  phase.on = true
  try {
    return await measure(
      variants.map((variant) => ({ ...variant, phases: [] })),
      warmup,
      runs,
    )
  } finally {
    phase.on = false
    for (const [channel, listener] of channels) diagnostics.unsubscribe(channel, listener)
  }
}

const drain = async (iterable) => {
  for await (const _ of iterable) {
    // read to the end
  }
}

/** A kernel with the provider pointed at the server, the bare client, and the breakdown steps. */
async function setUp(name, url, home, server) {
  const spec = PROVIDERS[name]
  const providersModule = await load('plugins', 'providers', 'index.js')
  const { createTestKernel } = await load('kernel', 'testing', 'index.js')
  const plugin = (await load('plugins', spec.plugin, 'index.js')).default
  const { Pool, request: undiciRequest } = await import('undici')
  const kernel = await createTestKernel({
    plugins: [providersModule.default, plugin],
    config: { providers: spec.config(url) },
    tauHome: home,
    // tau's own default level; 'debug' (the test kit's default) would record every call.
    logLevel: 'warn',
  })
  const registry = kernel.resolve(providersModule.providerRegistryRef)
  const request = {
    model: { provider: name, model: spec.model },
    messages: [{ role: 'user', content: 'hi' }],
  }
  const tau = () => registry.complete(request)

  // tau's first call, untimed: its answer is checked, and the server reports what tau sent.
  const answer = await tau()
  const text = answer.message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
  if (text !== TURN.text || answer.usage.outputTokens !== TURN.usage.outputTokens) {
    throw new Error(`${name}: tau's answer does not match the script: ${JSON.stringify(answer)}`)
  }

  // The bare client posts the same body with the same headers (less the per-connection ones).
  const first = await server.firstRequest(spec.path)
  const body = JSON.parse(first.body)
  const headers = { ...first.headers }
  for (const header of ['host', 'connection', 'content-length', 'transfer-encoding']) delete headers[header]
  const target = `${url}${spec.path}`
  const pools = []
  const newPool = () => {
    const pool = new Pool(url, { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 })
    pools.push(pool)
    return pool
  }
  const pool = newPool()
  const bare = async () => {
    const response = await undiciRequest(target, {
      dispatcher: pool,
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    })
    const text = await response.body.text()
    if (response.statusCode !== 200) throw new Error(`${name}: the bare request got ${response.statusCode}`)
    return text
  }
  if ((await bare()) !== rendered.get(spec.path)) throw new Error(`${name}: the bare answer differs`)

  // The breakdown: each step adds one layer of tau's path to the one before.
  const { HttpClient, DEFAULT_HTTP_SETTINGS } = providersModule
  const parse = await parserFor(name)
  const http = new HttpClient(name, DEFAULT_HTTP_SETTINGS)
  const poolB = newPool()
  const poolC = newPool()
  const poolD = newPool()
  // What HttpClient passes to pool.request().
  const options = () => ({
    path: spec.path,
    method: 'POST',
    headers,
    headersTimeout: DEFAULT_HTTP_SETTINGS.timeouts.firstByteMs,
    bodyTimeout: DEFAULT_HTTP_SETTINGS.timeouts.idleMs,
    body: JSON.stringify(body),
  })
  const provider = registry.get(name)
  const steps = [
    {
      label: "pool.request() with tau's options (timeouts), body.text()",
      run: async () => (await poolB.request(options())).body.text(),
    },
    {
      label: 'same, body read with for await (the Readable async iterator)',
      run: async () => drain((await poolC.request(options())).body),
    },
    {
      label: 'same, then await setImmediate (as HttpClient waits for the socket to return)',
      run: async () => {
        await drain((await poolD.request(options())).body)
        await new Promise((resolve) => setImmediate(resolve))
      },
    },
    {
      label: "tau's HttpClient.send() (pool.dispatch, its own body queue), for await",
      run: async () => drain((await http.send({ method: 'POST', url: target, headers, body })).body),
    },
    {
      label: `HttpClient.send() + the provider's stream parser (${parse.label})`,
      run: async () => drain(parse.run(await http.send({ method: 'POST', url: target, headers, body }))),
    },
    {
      label: `provider.stream(request) (${spec.plugin}: request body, headers)`,
      run: () => drain(provider.stream(request)),
    },
    {
      label: 'registry.stream(request) (providers: ProviderRegistry)',
      run: () => drain(registry.stream(request)),
    },
    { label: 'registry.complete(request) (+ collectStream): the A side above', run: tau },
  ]
  return {
    name,
    tau: { label: 'tau complete()', run: tau },
    bare: { label: 'bare request()', run: bare },
    pool: { label: 'bare pool.request()', run: steps[0].run },
    layers: steps,
    close: async () => {
      await http.close()
      for (const p of pools) await p.close()
      await kernel.stop()
    },
  }
}

/** The function each provider turns a response into StreamEvents with. */
async function parserFor(name) {
  let ids = 0
  const nextId = () => `call_bench_${++ids}`
  if (name === 'ollama') {
    const { readChatStream } = await load('plugins', 'provider-ollama', 'chat-stream.js')
    return { label: 'readChatStream', run: (response) => readChatStream(response.body, { nextId }) }
  }
  if (name === 'openai') {
    const { readChatAnswer } = await load('plugins', 'provider-openai', 'stream.js')
    return {
      label: 'readChatAnswer',
      run: (response) => readChatAnswer(response, { provider: 'openai', nextId, secrets: [] }),
    }
  }
  const { readMessagesStream } = await load('plugins', 'provider-anthropic', 'stream.js')
  return {
    label: 'readMessagesStream',
    run: (response) => readMessagesStream(response.body, { newToolCallId: nextId }),
  }
}

// Run last: everything above is declared by now.
if (process.argv[2] === '--server') {
  process.once('message', (answers) => {
    serve(
      answers,
      (server) => process.send?.({ port: server.address().port }),
      (first) => process.send?.({ first }),
      () => process.send?.({ connection: true }),
    )
  })
  process.on('disconnect', () => process.exit(0))
} else {
  await main()
}
