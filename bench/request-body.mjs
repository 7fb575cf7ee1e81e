#!/usr/bin/env node
/**
 * The request body of an agent turn, in process: BodyEncoder (plugins/providers/body-encoder.ts,
 * what the providers send) against `Buffer.from(JSON.stringify(body))` (what a loop that
 * serialises the whole conversation each turn pays), over a conversation that grows by one Read
 * call and its 40-line result a turn, with the coding preset's 14-tool shape of definitions.
 * CPU per turn (process.cpuUsage), medians of alternating runs; figures only, no assertions.
 *
 * Usage: node --liftoff-only bench/request-body.mjs [runs] [turns]   (needs npm run build)
 */
import { availableParallelism, loadavg } from 'node:os'
import { OPENAI_OPTIONS, readTurnRequests } from './read-requests.mjs'
import { median } from './read-turns.mjs'

const runs = Number(process.argv[2] ?? 7)
const turns = Number(process.argv[3] ?? 101)
const { BodyEncoder } = await import('../dist/plugins/providers/index.js')
const { chatBody } = await import('../dist/plugins/provider-openai/request.js')

function run(side) {
  const encoder = new BodyEncoder()
  let bytes = 0
  const start = process.cpuUsage()
  readTurnRequests(turns, 'openai', (request) => {
    const body = chatBody(request, OPENAI_OPTIONS)
    bytes += (side === 'encoder' ? encoder.encode(body) : Buffer.from(JSON.stringify(body))).length
  })
  const used = process.cpuUsage(start)
  return { ms: (used.user + used.system) / 1000, bytes }
}

const sides = ['stringify', 'encoder']
const times = { stringify: [], encoder: [] }
const sizes = new Set()
run('stringify')
run('encoder')
for (let round = 0; round < runs; round++) {
  for (const side of round % 2 ? [...sides].reverse() : sides) {
    const { ms, bytes } = run(side)
    times[side].push(ms)
    sizes.add(bytes)
  }
}
if (sizes.size !== 1) throw new Error('the two sides sent different amounts of bytes')
console.log(
  `request bodies, ${turns} turns, ${runs} runs a side, ${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(1)}, node ${process.version}`,
)
for (const side of sides) {
  const ms = median(times[side])
  console.log(`  ${side.padEnd(9)} ${ms.toFixed(1)} ms CPU, ${(ms / turns).toFixed(3)} ms a turn`)
}
