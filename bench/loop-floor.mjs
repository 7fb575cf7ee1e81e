#!/usr/bin/env node
/**
 * tau's agent loop against the fair floor: a hand-written loop that does what any agent loop
 * must do and nothing else.
 *
 *   A (tau)     node dist/bin/tau.js start -p, the coding preset, default durability, against the
 *               scripted server in one wire format. The model calls Read on every turn (N turns),
 *               then answers.
 *   B (floor)   node bench/loop-floor.mjs --floor FILE: a loop on undici that keeps the
 *               conversation, sends it with the system prompt, tool definitions and request fields
 *               tau sent in its first request (recorded from an untimed tau run, so the floor stays
 *               fair as tau's prompt and tools change), parses the streamed answer (SSE for OpenAI
 *               and Anthropic, NDJSON for Ollama), runs the tool (reads the file and numbers its
 *               lines as Read does), appends the call and its result, and goes round again.
 *               It runs under --liftoff-only, as the tau command runs itself (bin/tau.ts).
 *
 * Both sides are timed from spawn to exit by /usr/bin/time (wall, user + system CPU, peak RSS),
 * in rounds that alternate their order. Two sizes, 1 and N tool turns; the figures that count are
 * the whole-process ratio at N turns (target: at most 1.10x), the per-turn ratio (difference of
 * the medians / (N - 1)), and peak RSS (target: tau at or below the floor). Figures only, no
 * assertions (docs/benchmarks.md).
 *
 * Usage: node bench/loop-floor.mjs [runs] [turns] [wire]   (needs npm run build)
 *        TAU_BENCH_BASELINE=old/dist/bin/tau.js node bench/loop-floor.mjs   also times that build
 *        in the same alternating rounds (A/B on a loaded machine; report the ratio)
 *        TAU_BENCH_MEMORY=1 node bench/loop-floor.mjs   also loads bench/memory-at-exit.cjs into
 *        every run and prints where the memory is at exit (RSS, V8 heap and its spaces, outside it)
 *        defaults: 5 runs, 100 turns, openai; wire is openai | anthropic | ollama | all
 * TAU_HOME is a fresh temporary directory; no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const TARGET = 1.1
const root = fileURLToPath(new URL('..', import.meta.url))
const here = fileURLToPath(import.meta.url)
const tau = join(root, 'dist', 'bin', 'tau.js')
// TAU_BENCH_BASELINE=path/to/an/earlier/dist/bin/tau.js: that build runs too, in the same rounds.
const baseline = process.env.TAU_BENCH_BASELINE
// TAU_BENCH_MEMORY=1: each run reports its memory at exit (bench/memory-at-exit.cjs).
const memory = process.env.TAU_BENCH_MEMORY === '1'
const memoryPreload = join(root, 'bench', 'memory-at-exit.cjs')

// ---------------------------------------------------------------------------------------------
// B: the floor, run as its own process.

/** Read's output: the file's lines numbered as `cat -n` numbers them. */
async function runRead(input) {
  const text = await readFile(input.file_path, 'utf8')
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const width = Math.max(6, String(lines.length).length)
  return lines.map((line, i) => `${String(i + 1).padStart(width)}\t${line}`).join('\n')
}

/** Splits a streamed body into lines as they arrive. */
async function* lines(body) {
  let rest = ''
  for await (const chunk of body) {
    rest += chunk
    let at = rest.indexOf('\n')
    while (at !== -1) {
      yield rest.slice(0, at)
      rest = rest.slice(at + 1)
      at = rest.indexOf('\n')
    }
  }
  if (rest !== '') yield rest
}

/** Per wire: parse one streamed answer into { text, calls }, and append a turn to the conversation. */
const wires = {
  openai: {
    async parse(body) {
      let text = ''
      const calls = []
      for await (const line of lines(body)) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
        const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta
        if (!delta) continue
        if (delta.content) text += delta.content
        for (const part of delta.tool_calls ?? []) {
          calls[part.index] ??= { id: part.id, name: part.function?.name, args: '' }
          calls[part.index].args += part.function?.arguments ?? ''
        }
      }
      return {
        text,
        calls: calls.map((c) => ({ id: c.id, name: c.name, input: JSON.parse(c.args || '{}') })),
      }
    },
    append(messages, calls, results) {
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: calls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.input) },
        })),
      })
      for (const [i, c] of calls.entries())
        messages.push({ role: 'tool', tool_call_id: c.id, content: results[i] })
    },
  },
  anthropic: {
    async parse(body) {
      let text = ''
      const blocks = []
      for await (const line of lines(body)) {
        if (!line.startsWith('data: ')) continue
        const event = JSON.parse(line.slice(6))
        if (event.type === 'content_block_start') blocks[event.index] = { ...event.content_block, json: '' }
        else if (event.type === 'content_block_delta') {
          if (event.delta.type === 'text_delta') text += event.delta.text
          else if (event.delta.type === 'input_json_delta')
            blocks[event.index].json += event.delta.partial_json
        }
      }
      const calls = blocks
        .filter((b) => b?.type === 'tool_use')
        .map((b) => ({ id: b.id, name: b.name, input: JSON.parse(b.json || '{}') }))
      return { text, calls }
    },
    append(messages, calls, results) {
      messages.push({
        role: 'assistant',
        content: calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.input })),
      })
      messages.push({
        role: 'user',
        content: calls.map((c, i) => ({ type: 'tool_result', tool_use_id: c.id, content: results[i] })),
      })
    },
  },
  ollama: {
    async parse(body) {
      let text = ''
      const calls = []
      for await (const line of lines(body)) {
        if (line.trim() === '') continue
        const message = JSON.parse(line).message
        if (message?.content) text += message.content
        for (const call of message?.tool_calls ?? [])
          calls.push({ name: call.function.name, input: call.function.arguments })
      }
      return { text, calls }
    },
    append(messages, calls, results) {
      messages.push({
        role: 'assistant',
        content: '',
        tool_calls: calls.map((c) => ({ function: { name: c.name, arguments: c.input } })),
      })
      for (const [i, c] of calls.entries())
        messages.push({ role: 'tool', tool_name: c.name, content: results[i] })
    },
  },
}

async function floor(file) {
  const { Agent, request } = await import('undici')
  const { origin, wire, path, headers, body: first } = JSON.parse(readFileSync(file, 'utf8'))
  const { parse, append } = wires[wire]
  const { messages: opening, ...fields } = JSON.parse(first)
  const messages = [...opening]
  const dispatcher = new Agent({ keepAliveTimeout: 30_000 })
  for (;;) {
    const response = await request(`${origin}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...fields, messages }),
      dispatcher,
    })
    if (response.statusCode !== 200) {
      console.error(`floor: ${path} answered ${response.statusCode}: ${await response.body.text()}`)
      process.exitCode = 1
      break
    }
    response.body.setEncoding('utf8')
    const { text, calls } = await parse(response.body)
    if (calls.length === 0) {
      process.stdout.write(`${text}\n`)
      break
    }
    const results = await Promise.all(calls.map((c) => runRead(c.input)))
    append(messages, calls, results)
  }
  await dispatcher.close()
}

// ---------------------------------------------------------------------------------------------

if (process.argv[2] === '--floor') await floor(process.argv[3])
else await main()

async function main() {
  const runs = Number(process.argv[2] ?? 5)
  const turns = Number(process.argv[3] ?? 100)
  const which = process.argv[4] ?? 'openai'
  if (!existsSync(tau)) {
    console.error(`bench/loop-floor.mjs: ${tau} is missing; run \`npm run build\` first`)
    process.exit(1)
  }
  if (!existsSync('/usr/bin/time')) {
    console.error('bench/loop-floor.mjs: needs /usr/bin/time (Debian package `time`)')
    process.exit(1)
  }
  const { startScriptedServer } = await import(
    pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
  )
  console.log(
    `agent loop vs the hand-written floor, whole process, ${runs} runs a side, ${turns} Read turns + an answer, ${availableParallelism()} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  )
  for (const wire of which === 'all' ? Object.keys(wires) : [which]) {
    await compare(startScriptedServer, wire, runs, turns)
  }
}

async function compare(startScriptedServer, wire, runs, turns) {
  // Loaded here, not at the top: the floor process (--floor) loads none of the harness.
  const { median, readTurnsProject, recordFirstRequest, START_ARGS } = await import('./read-turns.mjs')
  const { base, project, server, env, script } = await readTurnsProject(
    startScriptedServer,
    wire,
    'tau-bench-floor-',
  )

  /** Spawns under /usr/bin/time; resolves with wall and CPU seconds and peak RSS in KiB. */
  function time(args, cwd) {
    return new Promise((resolve, reject) => {
      const preload = memory ? ['--require', memoryPreload] : []
      const child = spawn(
        '/usr/bin/time',
        ['-f', 'TIME %e %U %S %M', process.execPath, ...preload, ...args],
        {
          cwd,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      let err = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
      })
      child.stderr.on('data', (chunk) => {
        err += chunk
      })
      child.on('error', reject)
      child.on('close', (code) => {
        const m = /TIME (\S+) (\S+) (\S+) (\S+)\s*$/.exec(err)
        if (code !== 0 || !m) reject(new Error(`${args.join(' ')} exited ${code}:\n${out}${err}`))
        else {
          const used = /MEMORY (\{.*\})/.exec(err)
          resolve({
            wall: Number(m[1]),
            cpu: Number(m[2]) + Number(m[3]),
            rss: Number(m[4]),
            out,
            ...(used ? { memory: JSON.parse(used[1]) } : {}),
          })
        }
      })
    })
  }
  const tauArgs = [tau, ...START_ARGS]

  // One untimed tau run records the first request: the floor sends what tau sends.
  server.push(...script(1))
  const before = server.requests.length
  const { out } = await time(tauArgs, project)
  const result = JSON.parse(out.trim().split('\n').at(-1))
  if (result.is_error || result.num_turns !== 2) throw new Error(`tau's run went wrong:\n${out}`)
  const file = join(base, 'first-request.json')
  recordFirstRequest(server, before, wire, file)

  const sizes = [1, turns]
  const variants = sizes.flatMap((n) => [
    { n, side: 'tau', run: () => time(tauArgs, project) },
    { n, side: 'floor', run: () => time(['--liftoff-only', here, '--floor', file], root) },
    // A/B on a loaded machine: an earlier build's tau.js, timed in the same alternating rounds.
    ...(baseline ? [{ n, side: 'base', run: () => time([baseline, ...tauArgs.slice(1)], project) }] : []),
  ])
  const results = new Map(variants.map((v) => [`${v.side}${v.n}`, []]))
  for (const variant of variants) {
    server.push(...script(variant.n))
    await variant.run()
  }
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + round) % variants.length]
      server.push(...script(variant.n))
      results.get(`${variant.side}${variant.n}`).push(await variant.run())
    }
  }
  if (server.remaining() !== 0) throw new Error(`the server has ${server.remaining()} answers left over`)
  await server.close()
  rmSync(base, { recursive: true, force: true })

  const of = (key, field) => median(results.get(key).map((r) => r[field]))
  const s = (seconds) => `${(seconds * 1000).toFixed(0)} ms`
  const big = turns
  const wallRatio = of(`tau${big}`, 'wall') / of(`floor${big}`, 'wall')
  const cpuRatio = of(`tau${big}`, 'cpu') / of(`floor${big}`, 'cpu')
  const perTurn = (side) => (of(`${side}${big}`, 'wall') - of(`${side}1`, 'wall')) / (big - 1)
  console.log(
    `  ${wire}: ${big + 1} requests: tau ${s(of(`tau${big}`, 'wall'))} (CPU ${s(of(`tau${big}`, 'cpu'))}, peak RSS ${(of(`tau${big}`, 'rss') / 1024).toFixed(0)} MiB), floor ${s(of(`floor${big}`, 'wall'))} (CPU ${s(of(`floor${big}`, 'cpu'))}, peak RSS ${(of(`floor${big}`, 'rss') / 1024).toFixed(0)} MiB)`,
  )
  console.log(
    `    load ${loadavg()[0].toFixed(1)}; whole process ${wallRatio.toFixed(2)}x (CPU ${cpuRatio.toFixed(2)}x; target <= ${TARGET}x: ${wallRatio <= TARGET ? 'met' : 'NOT met'}); per turn tau ${(perTurn('tau') * 1000).toFixed(2)} ms, floor ${(perTurn('floor') * 1000).toFixed(2)} ms; 2 requests: tau ${s(of('tau1', 'wall'))}, floor ${s(of('floor1', 'wall'))}`,
  )
  if (baseline)
    console.log(
      `    baseline ${baseline}: ${big + 1} requests ${s(of(`base${big}`, 'wall'))} (CPU ${s(of(`base${big}`, 'cpu'))}, peak RSS ${(of(`base${big}`, 'rss') / 1024).toFixed(0)} MiB), 2 requests ${s(of('base1', 'wall'))}; tau/baseline ${(of(`tau${big}`, 'wall') / of(`base${big}`, 'wall')).toFixed(2)}x at ${big + 1}, ${(of('tau1', 'wall') / of('base1', 'wall')).toFixed(2)}x at 2; per turn baseline ${(perTurn('base') * 1000).toFixed(2)} ms`,
    )
  if (memory) {
    const fields = ['rss', 'heapTotal', 'newSpace', 'oldSpace', 'codeSpace', 'heapUsed', 'arrayBuffers']
    console.log(`    memory at exit (MiB, medians): run | ${fields.join(' | ')} | outside the V8 heap`)
    for (const key of results.keys()) {
      const measured = results.get(key).filter((r) => r.memory)
      if (measured.length === 0) continue
      const at = (field) => median(measured.map((r) => r.memory[field]))
      const row = fields.map((field) => at(field).toFixed(1))
      console.log(`      ${key} | ${row.join(' | ')} | ${(at('rss') - at('heapTotal')).toFixed(1)}`)
    }
  }
}
