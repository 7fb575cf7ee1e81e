#!/usr/bin/env node
/**
 * Per-turn overhead of the agent loop, whole process included: `tau start -p` against the same
 * sequence of model requests made directly with undici, both to a loopback server that answers
 * at once.
 *
 *   A (tau)     node dist/bin/tau.js start -p "..." --output-format json, in a project whose
 *               config (the coding preset, as users run it) points provider-openai at the
 *               server. The model calls TodoWrite on every turn (N turns), then answers; every
 *               turn is a full loop turn: request built from the conversation, streamed answer
 *               parsed, hooks, permission check, tool run, result appended.
 *   B (direct)  node bench/agent-loop.mjs --direct FILE: imports undici and posts the very
 *               requests tau sent in an untimed run (same paths, headers and bodies, recorded by
 *               the server), one after the other on a keep-alive Agent, reading each streamed
 *               answer to its end.
 *
 * The server is the scripted server (plugins/provider-scripted/server.js) in OpenAI's wire
 * format, in this process, on 127.0.0.1; before every run it is given the same N + 1 answers.
 *   B'          the same direct client under `node --liftoff-only`, the V8 flag the tau command
 *               sets for itself (bin/tau.ts): without it Node waits, at exit, for V8 to finish
 *               optimising undici's WebAssembly HTTP parser in the background (75 to 120 ms here).
 *               B is the figure; B' shows how much of tau's whole-process time that flag saves.
 *
 * Both sides are timed from spawn to exit, in rounds that alternate their order. Two sizes are
 * run, 1 turn and N turns; the per-turn cost of each side is the difference of its medians
 * divided by N - 1 (start-up cancels out), and the figure that counts is the ratio of the two
 * (target: at most 1.10). The whole-process ratio at N turns is printed too, and the per-turn
 * cost as the server sees it: the median gap between two consecutive requests of an N-turn run.
 * Figures only, no assertions (see docs/benchmarks.md).
 *
 * Usage: node bench/agent-loop.mjs [runs] [turns]   (needs npm run build; default 15 runs, 40 turns)
 *        TAU_BENCH_FSYNC=0   tau with `session.fsync: false`, to attribute the transcript's syncs
 *                            (not the figure: tau's default syncs every record)
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched, and no
 * request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const TARGET = 1.1
/** TAU_BENCH_FSYNC=0: tau without transcript syncs (attribution only). */
const FSYNC = process.env.TAU_BENCH_FSYNC !== '0'
const root = fileURLToPath(new URL('..', import.meta.url))
const here = fileURLToPath(import.meta.url)
const tau = join(root, 'dist', 'bin', 'tau.js')

// ---------------------------------------------------------------------------------------------
// B: the direct client, run as its own process.

/**
 * The direct client. It ends the way tau does, by letting the event loop run out (no
 * process.exit()). Unless it runs under --liftoff-only (B'), Node then waits for V8's background
 * tasks (undici's WebAssembly HTTP parser being compiled further) before it exits.
 */
async function direct(file) {
  const { Agent, request } = await import('undici')
  const { origin, requests } = JSON.parse(readFileSync(file, 'utf8'))
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 })
  for (const sent of requests) {
    const response = await request(`${origin}${sent.path}`, {
      method: sent.method,
      headers: sent.headers,
      body: sent.body,
      dispatcher,
    })
    const text = await response.body.text()
    if (response.statusCode !== 200 || !text.includes('[DONE]')) {
      console.error(`direct: ${sent.path} answered ${response.statusCode}: ${text.slice(0, 200)}`)
      process.exitCode = 1
      break
    }
  }
  await dispatcher.close()
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--direct') await direct(process.argv[3])
else await main()

async function main() {
  const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 15)
  const turns = Number(process.argv[3] ?? process.env.TAU_BENCH_TURNS ?? 40)
  if (!existsSync(tau)) {
    console.error(`bench/agent-loop.mjs: ${tau} is missing; run \`npm run build\` first`)
    process.exit(1)
  }

  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  }
  const ms = (value) => `${value.toFixed(1)} ms`

  const { startScriptedServer } = await import(
    pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
  )

  /** The model's answers for a run of `n` tool turns: TodoWrite each turn, then a short answer. */
  function script(n) {
    const answers = []
    for (let i = 1; i <= n; i++) {
      answers.push({
        toolCalls: [
          {
            name: 'TodoWrite',
            input: {
              todos: [{ content: `Step ${i}`, status: 'in_progress', activeForm: `Doing step ${i}` }],
            },
          },
        ],
        usage: { inputTokens: 100 + i, outputTokens: 20 },
      })
    }
    answers.push({ text: 'All steps done.', usage: { inputTokens: 100 + n, outputTokens: 5 } })
    return answers
  }

  const base = mkdtempSync(join(tmpdir(), 'tau-bench-agent-'))
  const tauHome = join(base, 'home')
  const project = join(base, 'project')
  mkdirSync(tauHome)
  mkdirSync(project)
  const server = await startScriptedServer({ format: 'openai', script: [] })
  writeFileSync(
    join(project, 'tau.config.json'),
    `${JSON.stringify(
      {
        preset: 'coding',
        model: 'openai:scripted-model',
        providers: { openai: { baseURL: `${server.url}/v1` } },
        agent: { maxTurns: 10_000 },
        ...(FSYNC ? {} : { session: { fsync: false } }),
      },
      null,
      2,
    )}\n`,
  )
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TAU_HOME: tauHome,
    HOME: base,
    OPENAI_API_KEY: 'sk-bench',
  }

  function time(args, cwd) {
    return new Promise((resolve, reject) => {
      const started = performance.now()
      const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
      })
      child.stderr.on('data', (chunk) => {
        out += chunk
      })
      child.on('error', reject)
      child.on('close', (code) => {
        const elapsed = performance.now() - started
        if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}:\n${out}`))
        else resolve({ elapsed, out })
      })
    })
  }

  const tauArgs = [
    tau,
    'start',
    '-p',
    'Do the steps',
    '--output-format',
    'json',
    '--permission-mode',
    'bypassPermissions',
  ]

  /** Records what tau sends for `n` turns (untimed), and writes the direct client's input. */
  async function record(n) {
    const before = server.requests.length
    server.push(...script(n))
    const { out } = await time(tauArgs, project)
    const result = JSON.parse(out.trim().split('\n').at(-1))
    if (result.is_error || result.num_turns !== n + 1) throw new Error(`tau's run went wrong:\n${out}`)
    const requests = server.requests.slice(before).map((sent) => ({
      method: sent.method,
      path: sent.path,
      headers: Object.fromEntries(
        Object.entries(sent.headers).filter(
          ([name]) => !['host', 'content-length', 'connection'].includes(name),
        ),
      ),
      body: sent.rawBody,
    }))
    if (requests.length !== n + 1)
      throw new Error(`expected ${n + 1} requests, the server saw ${requests.length}`)
    const file = join(base, `requests-${n}.json`)
    writeFileSync(file, JSON.stringify({ origin: server.url, requests }))
    return file
  }

  const sizes = [1, turns]
  const files = new Map()
  for (const n of sizes) files.set(n, await record(n))
  const times = new Map(sizes.map((n) => [n, { tau: [], direct: [], liftoff: [] }]))
  const variants = sizes.flatMap((n) => [
    { n, side: 'tau', run: () => time(tauArgs, project) },
    { n, side: 'direct', run: () => time([here, '--direct', files.get(n)], root) },
    { n, side: 'liftoff', run: () => time(['--liftoff-only', here, '--direct', files.get(n)], root) },
  ])
  // One untimed warm-up of each, then interleaved rounds with a rotating order.
  for (const variant of variants) {
    server.push(...script(variant.n))
    await variant.run()
  }
  // The server's clock: when each request arrived. The gap between two requests of one run is
  // one turn as the server sees it, client and server work together, without start-up or exit.
  const arrivals = []
  const push = server.requests.push.bind(server.requests)
  server.requests.push = (...items) => {
    for (const _ of items) arrivals.push(performance.now())
    return push(...items)
  }
  const gaps = { tau: [], direct: [], liftoff: [] }
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + round) % variants.length]
      server.push(...script(variant.n))
      const first = arrivals.length
      const { elapsed } = await variant.run()
      times.get(variant.n)[variant.side].push(elapsed)
      if (variant.n === turns)
        for (let k = first + 1; k < arrivals.length; k++)
          gaps[variant.side].push(arrivals[k] - arrivals[k - 1])
    }
  }
  if (server.remaining() !== 0) throw new Error(`the server has ${server.remaining()} answers left over`)
  await server.close()
  rmSync(base, { recursive: true, force: true })

  console.log(
    `agent loop vs direct undici requests, whole process: ${runs} runs each, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim()}), load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}${FSYNC ? '' : ', tau with session.fsync false (attribution)'}`,
  )
  for (const n of sizes) {
    const { tau: a, direct: b, liftoff: c } = times.get(n)
    console.log(
      `  ${String(n + 1).padStart(3)} requests (${n} tool turn${n === 1 ? '' : 's'}): tau ${ms(median(a))}, direct ${ms(median(b))}, ratio ${(median(a) / median(b)).toFixed(2)}x; direct --liftoff-only ${ms(median(c))}, ratio ${(median(a) / median(c)).toFixed(2)}x`,
    )
  }
  const slope = (side) => (median(times.get(turns)[side]) - median(times.get(1)[side])) / (turns - 1)
  const perTau = slope('tau')
  const perDirect = slope('direct')
  const ratio = perTau / perDirect
  console.log(
    `  per turn: tau ${ms(perTau)}, direct ${ms(perDirect)}, ratio ${ratio.toFixed(2)}x (target <= ${TARGET}x: ${ratio <= TARGET ? 'met' : 'NOT met'}); direct --liftoff-only ${ms(slope('liftoff'))}`,
  )
  // Steadier than the difference of two whole-process medians when the machine is busy.
  const gap = (side) => median(gaps[side])
  const p = (side, q) => {
    const sorted = [...gaps[side]].sort((x, y) => x - y)
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  }
  console.log(
    `  per turn on the server's clock (median gap between two requests of a ${turns}-turn run, ${gaps.tau.length} gaps a side): tau ${ms(gap('tau'))} (p10-p90 ${ms(p('tau', 0.1))}-${ms(p('tau', 0.9))}), direct ${ms(gap('direct'))} (${ms(p('direct', 0.1))}-${ms(p('direct', 0.9))}), ratio ${(gap('tau') / gap('direct')).toFixed(2)}x`,
  )
}
