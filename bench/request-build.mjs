#!/usr/bin/env node
/**
 * A turn's request body built and encoded, in process, for each wire: the provider's mapping of
 * the conversation (OpenAI's chatBody, Anthropic's toMessagesRequest, Ollama's
 * toOllamaChatRequest) and BodyEncoder, over a conversation that grows by one Read call and its
 * 40-line result a turn, with 14 tool definitions. With TAU_BENCH_BASELINE set to an earlier
 * build's dist/ directory, that build runs too, in alternating child processes (one build per
 * process), so the two are compared in the same rounds. CPU per turn (process.cpuUsage, the
 * median of 5 passes in each process), medians over the runs; figures only, no assertions.
 *
 * Usage: node --liftoff-only bench/request-build.mjs [runs] [turns] [wire]   (needs npm run build)
 *        defaults: 5 runs, 201 turns, all; wire is openai | anthropic | ollama | all
 *        TAU_BENCH_BASELINE=/path/to/old/dist   also times that build
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { OPENAI_OPTIONS, readTurnRequests } from './read-requests.mjs'
import { median } from './read-turns.mjs'

const here = fileURLToPath(import.meta.url)
const ownDist = fileURLToPath(new URL('../dist', import.meta.url))

async function child(dist, wire, turns) {
  const load = (path) => import(pathToFileURL(join(dist, path)).href)
  const { BodyEncoder } = await load('plugins/providers/index.js')
  let build
  if (wire === 'openai') {
    const { chatBody } = await load('plugins/provider-openai/request.js')
    build = (request) => chatBody(request, OPENAI_OPTIONS)
  } else if (wire === 'anthropic') {
    const { toMessagesRequest } = await load('plugins/provider-anthropic/request.js')
    const options = {
      defaultMaxTokens: 8192,
      thinkingType: 'enabled',
      thinkingBudget: 4096,
      promptCaching: true,
    }
    build = (request) => ({ ...toMessagesRequest(request, options), stream: true })
  } else {
    const { toOllamaChatRequest } = await load('plugins/provider-ollama/chat-request.js')
    const settings = { thinkLevels: [], keepAlive: undefined, numCtx: undefined }
    build = (request) => toOllamaChatRequest(request, settings)
  }
  const pass = () => {
    const encoder = new BodyEncoder()
    let bytes = 0
    const start = process.cpuUsage()
    readTurnRequests(turns, wire, (request) => {
      bytes += encoder.encode(build(request)).length
    })
    const used = process.cpuUsage(start)
    return { ms: (used.user + used.system) / 1000, bytes }
  }
  pass()
  pass()
  const passes = Array.from({ length: 5 }, pass)
  const ms = median(passes.map((p) => p.ms))
  console.log(JSON.stringify({ perTurn: ms / turns, bytes: passes[0].bytes }))
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], Number(process.argv[5]))
} else {
  const runs = Number(process.argv[2] ?? 5)
  const turns = Number(process.argv[3] ?? 201)
  const which = process.argv[4] ?? 'all'
  const builds = {
    this: ownDist,
    ...(process.env.TAU_BENCH_BASELINE ? { baseline: process.env.TAU_BENCH_BASELINE } : {}),
  }
  console.log(
    `request build + encode in process, ${turns} turns, ${runs} runs a build, ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(1)}, node ${process.version}`,
  )
  for (const wire of which === 'all' ? ['openai', 'anthropic', 'ollama'] : [which]) {
    const times = Object.fromEntries(Object.keys(builds).map((name) => [name, []]))
    const sizes = new Set()
    for (let round = 0; round < runs; round++) {
      const names = Object.keys(builds)
      for (const name of round % 2 ? names.reverse() : names) {
        const out = spawnSync(
          process.execPath,
          [...process.execArgv, here, '--child', builds[name], wire, String(turns)],
          { encoding: 'utf8' },
        )
        if (out.status !== 0) throw new Error(`${name} (${builds[name]}) failed:\n${out.stderr}`)
        const { perTurn, bytes } = JSON.parse(out.stdout)
        times[name].push(perTurn)
        sizes.add(bytes)
      }
    }
    if (sizes.size !== 1) throw new Error(`${wire}: the builds sent different amounts of bytes`)
    const line = Object.entries(times)
      .map(([name, values]) => `${name} ${median(values).toFixed(3)} ms a turn`)
      .join(', ')
    const ratio =
      times.baseline === undefined
        ? ''
        : `; this/baseline ${(median(times.this) / median(times.baseline)).toFixed(2)}x`
    console.log(`  ${wire}: ${line}${ratio}`)
  }
}
