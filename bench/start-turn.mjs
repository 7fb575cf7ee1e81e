#!/usr/bin/env node
/**
 * Start-up of the `tau` command, whole process, against bare Node (issue 22's targets):
 *
 *   node -e 0                 the floor
 *   tau --version             target: within 30 ms of it
 *   tau start -p, one turn    the coding preset, one model call to the scripted server (OpenAI
 *                             wire, loopback) answered with text; target: within 150 ms of node
 *   ... with one MCP server   the same with one stdio MCP server configured (the real
 *                             @modelcontextprotocol/server-everything); target: within 300 ms more
 *   tau --help                the body loaded, no kernel started (variant `help`)
 *   ... no compile cache      the one-turn run and --help with TAU_NO_COMPILE_CACHE=1: the body
 *                             compiled at every start (variant `cold`)
 *   ... first run             the one-turn run with an empty cache directory each time: compiled,
 *                             then the cache written at exit (variant `first`)
 *
 * Each variant is timed from spawn to exit by /usr/bin/time (wall, user + system CPU, peak RSS) in
 * rounds that rotate their order, so drift on a loaded machine hits all alike. With
 * TAU_BENCH_BASELINE=old/dist/bin/tau.js the same tau variants of that build run in the same
 * rounds (an A/B: report the ratio). Figures only, no assertions (docs/benchmarks.md).
 *
 * Usage: node bench/start-turn.mjs [runs] [variants]   (needs npm run build; default 11 runs)
 *        variants: a comma list of node,version,help,turn,mcp,cold,first (default:
 *        node,version,turn,mcp)
 * TAU_HOME and HOME are a fresh temporary directory (the compile cache is in HOME/.cache/tau,
 * filled by the untimed first round); no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tau = join(root, 'dist', 'bin', 'tau.js')
const baseline = process.env.TAU_BENCH_BASELINE
const runs = Number(process.argv[2] ?? 11)
const wanted = new Set((process.argv[3] ?? 'node,version,turn,mcp').split(','))
let fresh = 0
const SERVER = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')
for (const [file, what] of [
  [tau, 'run `npm run build` first'],
  ['/usr/bin/time', 'install the Debian package `time`'],
]) {
  if (!existsSync(file)) {
    console.error(`bench/start-turn.mjs: ${file} is missing; ${what}`)
    process.exit(1)
  }
}

const { startScriptedServer } = await import(
  pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
)
const server = await startScriptedServer({ format: 'openai', script: [] })
const base = mkdtempSync(join(tmpdir(), 'tau-bench-start-turn-'))
const tauHome = join(base, 'home')
mkdirSync(tauHome)
const project = (name, extra) => {
  const dir = join(base, name)
  mkdirSync(dir)
  const config = {
    preset: 'coding',
    model: 'openai:scripted-model',
    providers: { openai: { baseURL: `${server.url}/v1` } },
    ...extra,
  }
  writeFileSync(join(dir, 'tau.config.json'), `${JSON.stringify(config, null, 2)}\n`)
  return dir
}
const plain = project('plain', {})
const withMcp = project('mcp', {
  mcpServers: { everything: { command: process.execPath, args: [SERVER, 'stdio'] } },
})
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  TAU_HOME: tauHome,
  HOME: base,
  OPENAI_API_KEY: 'sk-bench',
}

/** Spawns under /usr/bin/time; resolves with wall and CPU ms and peak RSS in MiB. */
function time(args, cwd, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...args], {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
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
      else
        resolve({
          wall: Number(m[1]) * 1000,
          cpu: (Number(m[2]) + Number(m[3])) * 1000,
          rss: Number(m[4]) / 1024,
          out,
        })
    })
  })
}

const prompt = ['start', '-p', 'hi', '--output-format', 'json']
const NO_CACHE = { TAU_NO_COMPILE_CACHE: '1' }
/** An empty cache directory for each run: the body compiled, the cache written at exit. */
const emptyCache = () => ({ XDG_CACHE_HOME: join(base, `cache-${fresh++}`) })
const turn = (bin, cwd, extraEnv) => async () => {
  server.push({ text: 'Hello.', usage: { inputTokens: 10, outputTokens: 2 } })
  const result = await time([bin, ...prompt], cwd, typeof extraEnv === 'function' ? extraEnv() : extraEnv)
  const last = JSON.parse(result.out.trim().split('\n').at(-1))
  if (last.is_error || last.result !== 'Hello.') throw new Error(`the run went wrong:\n${result.out}`)
  return result
}
const version = (bin) => async () => {
  const result = await time([bin, '--version'])
  if (!/^\d+\.\d+\.\d+/.test(result.out)) throw new Error(`tau --version printed ${result.out}`)
  return result
}
const help = (bin, extraEnv) => async () => {
  const result = await time([bin, '--help'], base, extraEnv)
  if (!result.out.includes('Usage: tau')) throw new Error(`tau --help printed ${result.out}`)
  return result
}
const builds = [{ tag: '', bin: tau }, ...(baseline ? [{ tag: ' (baseline)', bin: baseline }] : [])]
const variants = [
  ...(wanted.has('node') ? [{ name: 'node -e 0', run: () => time(['-e', '0'], base) }] : []),
  ...builds.flatMap(({ tag, bin }) => [
    ...(wanted.has('version') ? [{ name: `tau --version${tag}`, run: version(bin) }] : []),
    ...(wanted.has('help') ? [{ name: `tau --help${tag}`, run: help(bin) }] : []),
    ...(wanted.has('turn') ? [{ name: `tau start -p, one turn${tag}`, run: turn(bin, plain) }] : []),
    ...(wanted.has('mcp') ? [{ name: `... with one MCP server${tag}`, run: turn(bin, withMcp) }] : []),
    ...(wanted.has('cold') && !tag
      ? [
          { name: 'tau --help, no compile cache', run: help(bin, NO_CACHE) },
          { name: 'one turn, no compile cache', run: turn(bin, plain, NO_CACHE) },
        ]
      : []),
    ...(wanted.has('first') && !tag
      ? [{ name: 'one turn, first run', run: turn(bin, plain, emptyCache) }]
      : []),
  ]),
]

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

try {
  const loadBefore = loadavg()
  for (const variant of variants) await variant.run() // untimed: compile cache, file cache
  const results = variants.map(() => [])
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length
      results[i].push(await variants[i].run())
    }
  }
  const loadAfter = loadavg()
  console.log(
    `start-up, whole process: ${runs} rotated rounds, medians; node ${process.version}, ` +
      `${availableParallelism()} CPUs, load ${loadBefore.map((l) => l.toFixed(1)).join(' ')} -> ` +
      `${loadAfter.map((l) => l.toFixed(1)).join(' ')}`,
  )
  const nodeAt = variants.findIndex((v) => v.name === 'node -e 0')
  const nodeWall = nodeAt < 0 ? undefined : median(results[nodeAt].map((r) => r.wall))
  const rows = variants.map((variant, i) => {
    const wall = median(results[i].map((r) => r.wall))
    return {
      variant: variant.name,
      wall: `${wall.toFixed(0)} ms`,
      '- node': nodeWall === undefined || i === nodeAt ? '' : `+${(wall - nodeWall).toFixed(0)} ms`,
      'paired - node':
        nodeWall === undefined || i === nodeAt
          ? ''
          : `+${median(results[i].map((r, k) => r.wall - results[nodeAt][k].wall)).toFixed(0)} ms`,
      cpu: `${median(results[i].map((r) => r.cpu)).toFixed(0)} ms`,
      rss: `${median(results[i].map((r) => r.rss)).toFixed(0)} MiB`,
    }
  })
  const columns = Object.keys(rows[0])
  const width = (c) => Math.max(c.length, ...rows.map((r) => r[c].length))
  console.log(columns.map((c) => c.padEnd(width(c))).join('  '))
  for (const row of rows) console.log(columns.map((c) => row[c].padEnd(width(c))).join('  '))
  if (baseline) {
    for (const variant of variants.filter((v) => v.name.endsWith(' (baseline)'))) {
      const b = variants.indexOf(variant)
      const a = variants.findIndex((v) => v.name === variant.name.replace(' (baseline)', ''))
      const ratio = (key) => median(results[a].map((r) => r[key])) / median(results[b].map((r) => r[key]))
      console.log(
        `${variants[a].name}: this build / baseline: wall ${ratio('wall').toFixed(2)}x, cpu ${ratio('cpu').toFixed(2)}x`,
      )
    }
  }
} finally {
  await server.close()
  rmSync(base, { recursive: true, force: true })
}
