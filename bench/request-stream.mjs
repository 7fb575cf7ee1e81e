#!/usr/bin/env node
/**
 * The provider registry's stream of one model call with tools, in process: `registry.stream()`
 * in the default (auto) tool mode over the scripted provider, which answers each call with a
 * Read call (message start, the tool call's start, arguments and end, usage, finish), read to
 * its end as the agent's loop does. What it times is the registry's own layer between the
 * provider and the loop, not HTTP or a wire's parse. With TAU_BENCH_BASELINE set to an earlier
 * build's dist/ directory, that build runs too, in alternating child processes (one build per
 * process). CPU per call (process.cpuUsage, after 2,000 calls of warm-up), medians over the
 * runs; figures only, no assertions (docs/benchmarks.md).
 *
 * Usage: node --liftoff-only bench/request-stream.mjs [runs] [calls]   (needs npm run build)
 *        defaults: 5 runs, 20000 calls
 *        TAU_BENCH_BASELINE=/path/to/old/dist   also times that build
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median } from './read-turns.mjs'

const here = fileURLToPath(import.meta.url)
const ownDist = fileURLToPath(new URL('../dist', import.meta.url))
const WARM_UP = 2000

async function child(dist, calls) {
  const load = (path) => import(pathToFileURL(join(dist, path)).href)
  const { ProviderRegistry } = await load('plugins/providers/index.js')
  const { ScriptedProvider } = await load('plugins/provider-scripted/index.js')
  const turn = {
    toolCalls: [{ name: 'Read', input: { file_path: '/project/notes.txt' } }],
    usage: { inputTokens: 100, outputTokens: 20 },
  }
  const provider = new ScriptedProvider(
    Array.from({ length: calls + WARM_UP }, () => turn),
    { tools: true },
  )
  const registry = new ProviderRegistry()
  registry.register(provider, 'bench')
  const request = {
    model: { provider: 'scripted', model: 'm' },
    messages: [{ role: 'user', content: 'Read the notes' }],
    tools: [{ name: 'Read', description: 'Reads a file', inputSchema: { type: 'object' } }],
  }
  let events = 0
  const once = async () => {
    for await (const _ of registry.stream(request)) events++
  }
  for (let i = 0; i < WARM_UP; i++) await once()
  const before = process.cpuUsage()
  for (let i = 0; i < calls; i++) await once()
  const used = process.cpuUsage(before)
  console.log(
    JSON.stringify({ perCall: (used.user + used.system) / calls, events: events / (calls + WARM_UP) }),
  )
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]))
} else {
  const runs = Number(process.argv[2] ?? 5)
  const calls = Number(process.argv[3] ?? 20_000)
  const builds = {
    this: ownDist,
    ...(process.env.TAU_BENCH_BASELINE ? { baseline: process.env.TAU_BENCH_BASELINE } : {}),
  }
  const times = Object.fromEntries(Object.keys(builds).map((name) => [name, []]))
  const counts = new Set()
  for (let round = 0; round < runs; round++) {
    const names = Object.keys(builds)
    for (const name of round % 2 ? names.reverse() : names) {
      const out = spawnSync(
        process.execPath,
        [...process.execArgv, here, '--child', builds[name], String(calls)],
        {
          encoding: 'utf8',
        },
      )
      if (out.status !== 0) throw new Error(`${name} (${builds[name]}) failed:\n${out.stderr}`)
      const { perCall, events } = JSON.parse(out.stdout)
      times[name].push(perCall)
      counts.add(events)
    }
  }
  if (counts.size !== 1) throw new Error('the builds streamed different numbers of events a call')
  console.log(
    `registry.stream() with tools, in process, ${calls} calls of ${[...counts][0]} events, ${runs} runs a build, ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(1)}, node ${process.version}`,
  )
  const line = Object.entries(times)
    .map(([name, values]) => `${name} ${median(values).toFixed(2)} µs a call`)
    .join(', ')
  const ratio =
    times.baseline === undefined
      ? ''
      : `; this/baseline ${(median(times.this) / median(times.baseline)).toFixed(2)}x`
  console.log(`  ${line}${ratio}`)
}
