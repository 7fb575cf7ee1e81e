#!/usr/bin/env node
/**
 * Where tau's per-turn time goes: `tau start -p` (coding preset, default durability) for N Read
 * turns against the scripted server, under `node --cpu-prof`, and the profile's samples between
 * the first and the last model call sorted into the loop's phases (request build, HTTP send and
 * receive, stream parse, hooks, permission decision, tool input validation, the tool, the
 * transcript, events, GC). Each sample is given to the innermost frame that names a phase; tau's
 * frames are mapped to their source files through dist/bin/cli.js.map.
 *
 * Samples are counted, not their time deltas: on a loaded machine a descheduled process leaves
 * one long delta on whichever sample came before the gap, so counts are the fairer share. The
 * share is turned into milliseconds a turn with the CPU the run spent per turn beyond a
 * two-request run (`process.cpuUsage` of the child, from /usr/bin/time), both measured in the
 * same rounds. Figures only, no assertions (docs/benchmarks.md).
 *
 * Usage: node bench/loop-phases.mjs [runs] [turns] [wire]   (needs npm run build)
 *        defaults: 3 runs, 200 turns, openai; wire is openai | anthropic | ollama
 *        TAU_BENCH_TAU=path/to/dist/bin/tau.js profiles that build instead (its cli.js.map beside it)
 * TAU_HOME is a fresh temporary directory; no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tau = process.env.TAU_BENCH_TAU ?? join(root, 'dist', 'bin', 'tau.js')
const runs = Number(process.argv[2] ?? 3)
const turns = Number(process.argv[3] ?? 200)
const wire = process.argv[4] ?? 'openai'
if (!existsSync(tau)) {
  console.error(`bench/loop-phases.mjs: ${tau} is missing; run \`npm run build\` first`)
  process.exit(1)
}
if (!existsSync('/usr/bin/time')) {
  console.error('bench/loop-phases.mjs: needs /usr/bin/time (Debian package `time`)')
  process.exit(1)
}

// ---------------------------------------------------------------------------------------------
// Phases: the innermost frame that names one decides. Order matters within a frame only.

const map = new SourceMap(JSON.parse(readFileSync(join(dirname(tau), 'cli.js.map'), 'utf8')))
const sources = new Map()
function sourceOf(frame) {
  const key = `${frame.lineNumber}:${frame.columnNumber}`
  let source = sources.get(key)
  if (source === undefined) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber)
    source = (entry?.originalSource ?? '?').replace(
      /^.*?\/(plugins|kernel|node_modules|sdk|presets|bin)\//,
      '$1/',
    )
    sources.set(key, source)
  }
  return source
}

const UNDICI_SEND = new Set(['writeH1', 'writeBuffer', 'writeBlob', 'writeIterable', 'resumeH1'])
const UNDICI_RECEIVE = new Set(['onHttpSocketReadable', 'readMore', 'onHttpSocketEnd'])

/** The phase of one sample, from its stack (leaf first). */
function phaseOf(stack) {
  const leaf = stack[0].callFrame.functionName
  if (leaf === '(garbage collector)') return 'GC'
  if (leaf === '(program)') return 'V8 (unattributed)'
  for (const node of stack) {
    const frame = node.callFrame
    const fn = frame.functionName
    if (frame.url.includes('undici') || frame.url.startsWith('wasm')) {
      if (UNDICI_SEND.has(fn)) return 'HTTP send (undici, socket write)'
      if (UNDICI_RECEIVE.has(fn)) return 'HTTP receive (undici, llhttp)'
    }
    if (!frame.url.endsWith('cli.js')) continue
    const src = sourceOf(frame)
    if (src.includes('/zod/')) return 'tool input validation'
    if (src.includes('/tapable/')) return 'hooks'
    if (src.startsWith('node_modules/undici')) return 'HTTP (undici, other)'
    if (src.startsWith('node_modules/')) return `library ${src.split('/')[1]}`
    if (src.includes('providers/body-encoder')) return 'request build'
    if (src.includes('/provider-') && /request\.ts$/.test(src)) return 'request build'
    if (src.includes('/provider-') || /providers\/(framing|batches|stream-events|tool-arguments)/.test(src))
      return 'stream parse'
    if (src.includes('providers/')) return 'provider (request, retry, HTTP glue)'
    if (src.includes('permissions/')) return 'permission decision'
    if (src.includes('agent/tool-calls')) {
      if (/validate|issueLines/.test(fn)) return 'tool input validation'
      if (/decide|ruleDenial/.test(fn)) return 'permission decision'
      return 'tool call (orchestration)'
    }
    if (src.includes('plugins/tools/') || src.includes('plugins/sandbox/')) return 'tool (Read)'
    if (src.includes('plugins/session/') || src.includes('agent/log')) return 'transcript'
    if (src.includes('agent/run') && /emit|observe|relay/.test(fn)) return 'events'
    if (/agent\/event-channel|plugins\/headless|plugins\/session-controller/.test(src)) return 'events'
    if (src.includes('kernel/hooks')) return 'hooks'
    return `other: ${src.replace(/^plugins\//, '')}`
  }
  return `node: ${leaf || '(anonymous)'}`
}

/** Sample counts per phase between the first and last model call of one profile. */
function phasesOf(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stackOf = new Map()
  const stack = (id) => {
    let s = stackOf.get(id)
    if (!s) {
      s = []
      for (let c = id; c !== undefined; c = parent.get(c)) s.push(byId.get(c))
      stackOf.set(id, s)
    }
    return s
  }
  let first = -1
  let last = -1
  profile.samples.forEach((id, i) => {
    if (stack(id).some((n) => n.callFrame.functionName === 'streamWithTools')) {
      if (first < 0) first = i
      last = i
    }
  })
  const counts = new Map()
  for (let i = first; i <= last; i++) {
    const s = stack(profile.samples[i])
    if (s[0].callFrame.functionName === '(idle)') continue
    const phase = phaseOf(s)
    counts.set(phase, (counts.get(phase) ?? 0) + 1)
  }
  return counts
}

// ---------------------------------------------------------------------------------------------

const { startScriptedServer } = await import(
  pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
)
const base = mkdtempSync(join(tmpdir(), 'tau-bench-phases-'))
const tauHome = join(base, 'home')
const project = join(base, 'project')
mkdirSync(tauHome)
mkdirSync(project)
const target = join(project, 'notes.txt')
writeFileSync(target, Array.from({ length: 40 }, (_, i) => `line ${i + 1} of the notes`).join('\n'))
const server = await startScriptedServer({ format: wire, script: [] })
const providers = {
  openai: { openai: { baseURL: `${server.url}/v1` } },
  anthropic: { anthropic: { baseURL: server.url } },
  ollama: { ollama: { host: server.url } },
}[wire]
writeFileSync(
  join(project, 'tau.config.json'),
  `${JSON.stringify({ preset: 'coding', model: `${wire}:scripted-model`, providers, agent: { maxTurns: 10_000 } }, null, 2)}\n`,
)
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  TAU_HOME: tauHome,
  HOME: base,
  OPENAI_API_KEY: 'sk-bench',
  ANTHROPIC_API_KEY: 'sk-ant-bench',
}
const script = (n) => [
  ...Array.from({ length: n }, (_, i) => ({
    toolCalls: [{ name: 'Read', input: { file_path: target } }],
    usage: { inputTokens: 100 + i, outputTokens: 20 },
  })),
  { text: 'Read it all.', usage: { inputTokens: 100 + n, outputTokens: 5 } },
]

/** One tau run under /usr/bin/time: CPU seconds. */
function run(n, flags) {
  server.push(...script(n))
  return new Promise((resolve, reject) => {
    const args = ['-f', 'TIME %U %S', process.execPath, ...flags, tau, 'start', '-p', 'Read the notes']
    args.push('--output-format', 'json', '--permission-mode', 'bypassPermissions')
    const child = spawn('/usr/bin/time', args, { cwd: project, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const m = /TIME (\S+) (\S+)\s*$/.exec(err)
      if (code !== 0 || !m) reject(new Error(`tau exited ${code}:\n${err}`))
      else resolve(Number(m[1]) + Number(m[2]))
    })
  })
}

console.log(
  `tau's per-turn phases, ${runs} profiled runs of ${turns} Read turns (${wire}), ${availableParallelism()} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
)
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
await run(1, []) // warm-up: the bubblewrap probe and the compile cache are kept in TAU_HOME
const small = []
const big = []
const counts = new Map()
for (let round = 0; round < runs; round++) {
  small.push(await run(1, []))
  big.push(await run(turns, []))
  const dir = join(base, `prof-${round}`)
  await run(turns, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'])
  for (const f of readdirSync(dir)) {
    for (const [phase, n] of phasesOf(join(dir, f))) counts.set(phase, (counts.get(phase) ?? 0) + n)
  }
}
if (server.remaining() !== 0) throw new Error(`the server has ${server.remaining()} answers left over`)
await server.close()
rmSync(base, { recursive: true, force: true })

const perTurnMs = ((median(big) - median(small)) / (turns - 1)) * 1000
const total = [...counts.values()].reduce((a, b) => a + b, 0)
console.log(
  `CPU: ${turns + 1} requests ${(median(big) * 1000).toFixed(0)} ms, 2 requests ${(median(small) * 1000).toFixed(0)} ms (medians, unprofiled): ${perTurnMs.toFixed(2)} ms a turn; ${total} samples in the loop`,
)
console.log('| phase | share | ms a turn |\n|---|---|---|')
for (const [phase, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  if (n / total < 0.003) continue
  console.log(`| ${phase} | ${((100 * n) / total).toFixed(1)} % | ${((perTurnMs * n) / total).toFixed(2)} |`)
}
