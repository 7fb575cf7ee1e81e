#!/usr/bin/env node
/**
 * Where the whole-process start time goes: `tau start` with a tau.config.ts and a warm jiti
 * cache, replayed step by step in a fresh process, each step timed with performance.now().
 * Dependencies are imported one at a time before the code that needs them, so each row is that
 * step's own cost; the last rows are the CLI run itself and what happens outside user code
 * (spawn, process bootstrap before the first line, exit). Median of RUNS fresh processes.
 *
 * Usage: node bench/start-breakdown.mjs [runs]   (needs a build; default 20 runs)
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 20)
const root = fileURLToPath(new URL('..', import.meta.url))
const dist = (path) => pathToFileURL(join(root, 'dist', path)).href
const tau = join(root, 'dist', 'bin', 'tau.js')
if (!existsSync(tau)) {
  console.error(`bench/start-breakdown.mjs: ${tau} is missing; run \`npm run build\` first`)
  process.exit(1)
}

const base = mkdtempSync(join(tmpdir(), 'tau-bench-breakdown-'))
const tauHome = join(base, 'home')
const project = join(base, 'project')
mkdirSync(tauHome)
mkdirSync(project)
const configFile = join(project, 'tau.config.ts')
writeFileSync(
  configFile,
  "import { defineConfig } from 'tau-agent'\n\nexport default defineConfig({ preset: 'minimal', logLevel: 'warn' })\n",
)

// The same specifiers the kernel imports, resolved to the same files it gets.
const url = {
  commander: import.meta.resolve('commander'),
  tapable: import.meta.resolve('tapable'),
  awilix: import.meta.resolve('awilix/browser'),
  cosmiconfig: import.meta.resolve('cosmiconfig'),
  jiti: import.meta.resolve('jiti'),
  kernel: dist('kernel/index.js'),
  cli: dist('kernel/cli/main.js'),
  presets: dist('presets/index.js'),
  moduleLoader: dist('kernel/module-loader.js'),
}

/** The replay: each step runs after the ones before it, so module caches are shared as in tau. */
const child = `
const json = JSON.stringify
const url = ${JSON.stringify(url)}
const steps = [['bootstrap', performance.now()]]
let last = steps[0][1]
const step = async (name, fn) => {
  await fn()
  const now = performance.now()
  steps.push([name, now - last])
  last = now
}
await step('import commander', () => import(url.commander))
await step('import tapable', () => import(url.tapable))
await step('import awilix/browser', () => import(url.awilix))
await step('import kernel + CLI + presets (own code)', () =>
  Promise.all([import(url.kernel), import(url.cli), import(url.presets)]))
await step('import cosmiconfig', () => import(url.cosmiconfig))
await step('import jiti', () => import(url.jiti))
await step('load tau.config.ts through jiti (warm cache)', async () => {
  const { importModule } = await import(url.moduleLoader)
  await importModule(${JSON.stringify(configFile)}, process.env.TAU_HOME)
})
await step('runCli start: search, assemble, kernel start + stop', async () => {
  const [{ runCli }, { builtinPresets, DEFAULT_PRESET }] = await Promise.all([import(url.cli), import(url.presets)])
  const code = await runCli(['start'], { presets: builtinPresets, defaultPreset: DEFAULT_PRESET })
  if (code !== 0) throw new Error('tau start exited ' + code)
})
process.stdout.write(json({ steps, end: performance.now() }))
`

const env = { ...process.env, TAU_HOME: tauHome }
delete env.NODE_OPTIONS

function spawn(args) {
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, { cwd: project, env, encoding: 'utf8' })
  const wall = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stderr}`)
  return { wall, out: result.stdout === '' ? undefined : JSON.parse(result.stdout) }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const bareScript =
  'process.stdout.write(JSON.stringify({ bootstrap: performance.now(), end: performance.now() }))'
const replayArgs = ['--input-type=module', '-e', child]

try {
  spawnSync(process.execPath, [tau, 'start'], { cwd: project, env }) // warm the jiti cache
  spawn(replayArgs)
  const rows = new Map()
  const add = (name, value) => rows.set(name, [...(rows.get(name) ?? []), value])
  const bare = { bootstrap: [], outside: [], wall: [] }
  const tauWall = []
  const realWall = []
  for (let round = 0; round < runs; round++) {
    const b = spawn(['-e', bareScript])
    bare.bootstrap.push(b.out.bootstrap)
    bare.outside.push(b.wall - b.out.end)
    bare.wall.push(b.wall)
    const t = spawn(replayArgs)
    for (const [name, ms] of t.out.steps) add(name, ms)
    add('spawn + exit (outside user code)', t.wall - t.out.end)
    tauWall.push(t.wall)
    realWall.push(spawn([tau, 'start']).wall)
  }
  const bareWall = median(bare.wall)
  const nodeCost = {
    bootstrap: median(bare.bootstrap),
    'spawn + exit (outside user code)': median(bare.outside),
  }
  console.log('')
  console.log(
    `where tau start goes (tau.config.ts, warm jiti cache), median of ${runs} fresh processes, node ${process.version}`,
  )
  console.log('')
  const name = (s) => s.padEnd(58)
  console.log(`${name('step')}  ${'tau'.padStart(8)}  ${'bare node'.padStart(9)}  ${'extra'.padStart(8)}`)
  let sum = 0
  let extraSum = 0
  for (const [step, values] of rows) {
    const m = median(values)
    const node = nodeCost[step] ?? 0
    sum += m
    extraSum += m - node
    console.log(
      `${name(step)}  ${m.toFixed(1).padStart(8)}  ${node.toFixed(1).padStart(9)}  ${(m - node).toFixed(1).padStart(8)}`,
    )
  }
  console.log(
    `${name('sum of steps')}  ${sum.toFixed(1).padStart(8)}  ${bareWall.toFixed(1).padStart(9)}  ${extraSum.toFixed(1).padStart(8)}`,
  )
  console.log(
    `${name('measured wall clock of the replay (median)')}  ${median(tauWall).toFixed(1).padStart(8)}  ${bareWall.toFixed(1).padStart(9)}  ${(median(tauWall) - bareWall).toFixed(1).padStart(8)}`,
  )
  console.log(
    `${name('real `node dist/bin/tau.js start`, same rounds (median)')}  ${median(realWall).toFixed(1).padStart(8)}  ${bareWall.toFixed(1).padStart(9)}  ${(median(realWall) - bareWall).toFixed(1).padStart(8)}`,
  )
  console.log('')
} finally {
  rmSync(base, { recursive: true, force: true })
}
