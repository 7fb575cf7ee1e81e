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

const runs = Number(process.argv[2] ?? 7)
const turns = Number(process.argv[3] ?? 101)
const { BodyEncoder } = await import('../dist/plugins/providers/index.js')
const { chatBody } = await import('../dist/plugins/provider-openai/request.js')

const schema = (i) => ({
  type: 'object',
  properties: Object.fromEntries(
    Array.from({ length: 4 }, (_, j) => [
      `field_${j}`,
      { type: 'string', description: `Field ${j} of tool ${i}, described at the length tau's are.` },
    ]),
  ),
  required: ['field_0'],
  additionalProperties: false,
})
const tools = Array.from({ length: 14 }, (_, i) => ({
  name: `Tool${i}`,
  description: `Tool ${i}. ${'A description of what it does and when to use it. '.repeat(12)}`,
  inputSchema: schema(i),
}))
const system = `You are tau. ${'Instructions about the workspace, tools and style. '.repeat(120)}`
const result = Array.from(
  { length: 40 },
  (_, i) => `${String(i + 1).padStart(6)}\tline ${i + 1} of the notes`,
).join('\n')
const options = {
  flavour: 'compatible',
  maxTokensField: 'max_tokens',
  includeUsage: true,
  parallelToolCalls: undefined,
  reasoningModel: false,
  extra: undefined,
}

function run(side) {
  const conversation = [{ role: 'user', content: 'Read the notes' }]
  const encoder = new BodyEncoder()
  let bytes = 0
  const start = process.cpuUsage()
  for (let i = 0; i < turns; i++) {
    const request = {
      model: { provider: 'openai', model: 'm' },
      messages: [{ role: 'system', content: system }, ...conversation],
      tools,
    }
    const body = chatBody(request, options)
    bytes += (side === 'encoder' ? encoder.encode(body) : Buffer.from(JSON.stringify(body))).length
    conversation.push({
      role: 'assistant',
      content: [
        { type: 'tool-call', id: `call_${i}`, name: 'Read', input: { file_path: '/work/notes.txt' } },
      ],
    })
    conversation.push({
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: `call_${i}`,
          toolName: 'Read',
          content: [{ type: 'text', text: `${result}\n${i}` }],
        },
      ],
    })
  }
  const used = process.cpuUsage(start)
  return { ms: (used.user + used.system) / 1000, bytes }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
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
