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
 * The floor (bench/loop-floor.mjs --floor: the hand-written loop on undici that sends tau's own
 * first request's system prompt, tools and fields) is profiled the same way in the same rounds,
 * its samples between its first and last stream parse sorted into the phases it has (request
 * build: its JSON.stringify of the whole conversation; HTTP; stream parse; the tool: readFile and
 * the line numbers; GC), so the table gives tau's and the floor's ms a turn side by side: the gap
 * per phase is tau's own work.
 *
 * Usage: node bench/loop-phases.mjs [runs] [turns] [wire]   (needs npm run build)
 *        defaults: 3 runs, 200 turns, openai; wire is openai | anthropic | ollama
 *        TAU_BENCH_FLOOR=0 profiles tau only
 *        TAU_BENCH_DETAIL='<phase>' also prints that phase's commonest leaf stacks (to split it)
 *        TAU_BENCH_TAU=path/to/dist/bin/tau.js profiles that build instead (its cli.js.map beside it)
 * TAU_HOME is a fresh temporary directory; no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { median, readTurnsProject, recordFirstRequest, START_ARGS } from './read-turns.mjs'

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

/**
 * Phases both sides name the same way: undici (tau loads it from node_modules too, outside the
 * bundle) and the UTF-8 encoding of a string body (the floor hands undici a string, which
 * undici encodes with Buffer.from; tau's BodyEncoder encodes its own parts, under request build).
 */
function sharedPhaseOf(frame) {
  const fn = frame.functionName
  if (frame.url.includes('undici') || frame.url.startsWith('wasm')) {
    if (UNDICI_SEND.has(fn)) return 'HTTP send (undici, socket write)'
    if (UNDICI_RECEIVE.has(fn)) return 'HTTP receive (undici, llhttp)'
  }
  if (frame.url === 'node:buffer' && /^(from|fromString|fromStringFast|byteLength)$/.test(fn))
    return 'request build'
  if (frame.url.includes('/node_modules/undici/')) return 'HTTP (undici, other)'
  return undefined
}

/** The phase of one sample, from its stack (leaf first). */
function phaseOf(stack) {
  const leaf = stack[0].callFrame.functionName
  if (leaf === '(garbage collector)') return 'GC'
  if (leaf === '(program)') return 'V8 (unattributed)'
  for (const node of stack) {
    const frame = node.callFrame
    const fn = frame.functionName
    const shared = sharedPhaseOf(frame)
    if (shared) return shared
    if (!frame.url.endsWith('cli.js')) continue
    const src = sourceOf(frame)
    if (src.includes('/zod/')) return 'tool input validation'
    if (src.includes('/tapable/')) return 'hooks'
    if (src.startsWith('node_modules/undici')) {
      // undici is in the bundle: its frames keep their names, so send and receive split as the floor's do.
      if (UNDICI_SEND.has(fn)) return 'HTTP send (undici, socket write)'
      if (UNDICI_RECEIVE.has(fn)) return 'HTTP receive (undici, llhttp)'
      return 'HTTP (undici, other)'
    }
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

const FLOOR_FILE = 'loop-floor.mjs'
// TAU_BENCH_DETAIL=<phase>: also print the commonest leaf stacks of that phase (to split it).
const detail = process.env.TAU_BENCH_DETAIL
const details = new Map()

/** The phase of one of the floor's samples: the same names as tau's where the work is the same. */
function floorPhaseOf(stack) {
  const leaf = stack[0].callFrame.functionName
  if (leaf === '(garbage collector)') return 'GC'
  if (leaf === '(program)') return 'V8 (unattributed)'
  for (const node of stack) {
    const frame = node.callFrame
    const fn = frame.functionName
    const shared = sharedPhaseOf(frame)
    if (shared) return shared
    // The floor's only file work is its Read's readFile (open, fstat, read, close), resumed
    // from the thread pool rather than under runRead's frame.
    if (frame.url === 'node:internal/fs/promises') return 'tool (Read)'
    if (!frame.url.endsWith(FLOOR_FILE)) continue
    if (fn === 'runRead') return 'tool (Read)'
    if (fn === 'parse' || fn === 'lines') return 'stream parse'
    if (fn === 'append') return 'the loop (agent/run.ts)'
    // The loop's own frame: its JSON.stringify of { ...fields, messages } (a builtin, so its
    // samples are the caller's) and the request call.
    if (fn === 'floor') return 'request build'
    return `other: floor ${fn || '(anonymous)'}`
  }
  return `node: ${leaf || '(anonymous)'}`
}

const LOADING = 'module loading (start-up: left out of the shares)'
const isModuleLoading = (n) =>
  /^node:internal\/modules\//.test(n.callFrame.url) ||
  (n.callFrame.url === 'node:internal/bootstrap/realm' &&
    n.callFrame.functionName === 'compileForInternalLoader')

/**
 * Sample counts per phase between the first and last sample whose stack holds `marker` (tau: the
 * model calls: collectStream, which folds each call's events, or the registry's streamWithTools
 * of older builds; the floor: its stream parse) in one profile.
 */
function phasesOf(file, side = 'tau') {
  const marker =
    side === 'tau'
      ? (n) => n.callFrame.functionName === 'collectStream' || n.callFrame.functionName === 'streamWithTools'
      : (n) => n.callFrame.functionName === 'parse' && n.callFrame.url.endsWith(FLOOR_FILE)
  const classify = side === 'tau' ? phaseOf : floorPhaseOf
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
    if (stack(id).some(marker)) {
      if (first < 0) first = i
      last = i
    }
  })
  if (first < 0)
    throw new Error(`${file}: no sample of a model call (${side}); is this a build the bench knows?`)
  const counts = new Map()
  for (let i = first; i <= last; i++) {
    const s = stack(profile.samples[i])
    if (s[0].callFrame.functionName === '(idle)') continue
    // Code loaded on first use (tau's undici at the first model call) is start-up, not a turn's.
    if (s.some(isModuleLoading)) {
      counts.set(LOADING, (counts.get(LOADING) ?? 0) + 1)
      continue
    }
    const phase = classify(s)
    counts.set(phase, (counts.get(phase) ?? 0) + 1)
    if (detail !== undefined && phase === detail) {
      const where = s
        .slice(0, 4)
        .map(
          (n) => `${n.callFrame.functionName || '(anon)'}@${n.callFrame.url.split('/').slice(-2).join('/')}`,
        )
        .join(' < ')
      const key = `${side} ${where}`
      details.set(key, (details.get(key) ?? 0) + 1)
    }
  }
  return counts
}

// ---------------------------------------------------------------------------------------------

const { startScriptedServer } = await import(
  pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
)
const { base, project, server, env, script } = await readTurnsProject(
  startScriptedServer,
  wire,
  'tau-bench-phases-',
)

const withFloor = process.env.TAU_BENCH_FLOOR !== '0'
const floorScript = join(root, 'bench', 'loop-floor.mjs')
const tauArgs = (flags) => [...flags, tau, ...START_ARGS]
// The floor runs under --liftoff-only, as bench/loop-floor.mjs runs it (and as tau runs itself).
const floorArgs = (flags, file) => ['--liftoff-only', ...flags, floorScript, '--floor', file]

/** One run (tau or the floor) under /usr/bin/time: CPU seconds. */
function run(n, args, cwd = project) {
  server.push(...script(n))
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %U %S', process.execPath, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const m = /TIME (\S+) (\S+)\s*$/.exec(err)
      if (code !== 0 || !m) reject(new Error(`${args.join(' ')} exited ${code}:\n${err}`))
      else resolve(Number(m[1]) + Number(m[2]))
    })
  })
}

console.log(
  `per-turn phases, ${runs} profiled runs of ${turns} Read turns (${wire}) of tau${withFloor ? ' and of the floor' : ''}, ${availableParallelism()} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}`,
)
// Warm-up (the bubblewrap probe and the compile cache are kept in TAU_HOME), and it records tau's
// first request for the floor, as bench/loop-floor.mjs does.
const before = server.requests.length
await run(1, tauArgs([]))
const firstRequest = join(base, 'first-request.json')
recordFirstRequest(server, before, wire, firstRequest)
const sides = withFloor ? ['tau', 'floor'] : ['tau']
const argsOf = (side, flags) => (side === 'tau' ? tauArgs(flags) : floorArgs(flags, firstRequest))
const cwdOf = (side) => (side === 'tau' ? project : root)
const measured = Object.fromEntries(sides.map((side) => [side, { small: [], big: [], counts: new Map() }]))
for (let round = 0; round < runs; round++) {
  // Alternate which side goes first.
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    const m = measured[side]
    m.small.push(await run(1, argsOf(side, []), cwdOf(side)))
    m.big.push(await run(turns, argsOf(side, []), cwdOf(side)))
    const dir = join(base, `prof-${side}-${round}`)
    await run(
      turns,
      argsOf(side, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200']),
      cwdOf(side),
    )
    for (const f of readdirSync(dir)) {
      for (const [phase, n] of phasesOf(join(dir, f), side))
        m.counts.set(phase, (m.counts.get(phase) ?? 0) + n)
    }
  }
}
if (server.remaining() !== 0) throw new Error(`the server has ${server.remaining()} answers left over`)
await server.close()
rmSync(base, { recursive: true, force: true })

/** ms a turn per phase of one side: its share of the samples times its unprofiled CPU a turn. */
const perPhase = {}
for (const side of sides) {
  const m = measured[side]
  const perTurnMs = ((median(m.big) - median(m.small)) / (turns - 1)) * 1000
  const loading = m.counts.get(LOADING) ?? 0
  m.counts.delete(LOADING)
  const total = [...m.counts.values()].reduce((a, b) => a + b, 0)
  console.log(
    `${side} CPU: ${turns + 1} requests ${(median(m.big) * 1000).toFixed(0)} ms, 2 requests ${(median(m.small) * 1000).toFixed(0)} ms (medians, unprofiled): ${perTurnMs.toFixed(2)} ms a turn; ${total} samples in the loop (and ${loading} loading modules, left out)`,
  )
  perPhase[side] = new Map(
    [...m.counts].map(([phase, n]) => [phase, { share: n / total, ms: (perTurnMs * n) / total }]),
  )
  perPhase[side].total = perTurnMs
}
const tauPhases = perPhase.tau
const floorPhases = perPhase.floor ?? new Map()
const rows = [...new Set([...tauPhases.keys(), ...floorPhases.keys()])]
  .map((phase) => ({ phase, tau: tauPhases.get(phase), floor: floorPhases.get(phase) }))
  .filter((r) => (r.tau?.share ?? 0) >= 0.003 || (r.floor?.share ?? 0) >= 0.003)
  .sort((a, b) => (b.tau?.ms ?? 0) - (b.floor?.ms ?? 0) - ((a.tau?.ms ?? 0) - (a.floor?.ms ?? 0)))
const cell = (p) => (p ? `${(100 * p.share).toFixed(1)} % | ${p.ms.toFixed(2)}` : '— | 0')
if (withFloor) {
  console.log(
    '| phase | tau share | tau ms a turn | floor share | floor ms a turn | gap (ms) |\n|---|---|---|---|---|---|',
  )
  for (const r of rows)
    console.log(
      `| ${r.phase} | ${cell(r.tau)} | ${cell(r.floor)} | ${((r.tau?.ms ?? 0) - (r.floor?.ms ?? 0)).toFixed(2)} |`,
    )
  console.log(
    `| all | | ${tauPhases.total.toFixed(2)} | | ${floorPhases.total.toFixed(2)} | ${(tauPhases.total - floorPhases.total).toFixed(2)} |`,
  )
} else {
  console.log('| phase | share | ms a turn |\n|---|---|---|')
  for (const r of rows) console.log(`| ${r.phase} | ${cell(r.tau)} |`)
}
if (detail !== undefined) {
  console.log(`\nthe commonest leaf stacks of ${detail} (samples):`)
  for (const [where, n] of [...details].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`  ${n} ${where}`)
}
