#!/usr/bin/env node
/**
 * Whole-process start: `tau start` on the minimal preset, from spawn to exit, against a bare
 * `node -e ''` measured in the same rounds. Three configs: none, tau.config.json and
 * tau.config.ts (importing defineConfig from 'tau-agent'), the last with a warm jiti cache.
 *
 * Each variant gets one untimed warm-up run (which fills the jiti cache and the OS file cache),
 * then RUNS interleaved rounds: every round runs each variant once, in an order rotated from
 * round to round, so drift on the machine hits all variants alike. Prints medians and the
 * difference to bare node. Figures only, no assertions (see docs/benchmarks.md).
 *
 * Usage: node bench/start.mjs [runs]   (needs a build: npm run build; default 30 runs)
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const TARGET_MS = 100
const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 30)
const root = fileURLToPath(new URL('..', import.meta.url))
const tau = join(root, 'dist', 'bin', 'tau.js')
if (!existsSync(tau)) {
  console.error(`bench/start.mjs: ${tau} is missing; run \`npm run build\` first`)
  process.exit(1)
}

const base = mkdtempSync(join(tmpdir(), 'tau-bench-start-'))
const tauHome = join(base, 'home')
mkdirSync(tauHome)
const dir = (name, files = {}) => {
  const path = join(base, name)
  mkdirSync(path)
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text)
  return path
}
const dirs = {
  none: dir('none'),
  json: dir('json', {
    'tau.config.json': `${JSON.stringify({ preset: 'minimal', logLevel: 'warn' }, null, 2)}\n`,
  }),
  ts: dir('ts', {
    'tau.config.ts': [
      "import { defineConfig } from 'tau-agent'",
      '',
      "export default defineConfig({ preset: 'minimal', logLevel: 'warn' })",
      '',
    ].join('\n'),
  }),
}

// The same environment for every variant: a temporary TAU_HOME, no inherited NODE_OPTIONS.
const env = { ...process.env, TAU_HOME: tauHome }
delete env.NODE_OPTIONS

const variants = [
  { name: "node -e ''", args: ['-e', ''], cwd: dirs.none },
  {
    name: 'tau start, no config',
    args: [tau, 'start', '--preset', 'minimal'],
    cwd: dirs.none,
    config: undefined,
  },
  { name: 'tau start, tau.config.json', args: [tau, 'start'], cwd: dirs.json, config: 'tau.config.json' },
  {
    name: 'tau start, tau.config.ts (warm)',
    args: [tau, 'start'],
    cwd: dirs.ts,
    config: 'tau.config.ts',
    target: true,
  },
]

function run(variant) {
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, variant.args, { cwd: variant.cwd, env, encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0 || (variant.args[0] === tau && !result.stderr.includes('is ready'))) {
    throw new Error(`${variant.name} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`)
  }
  return ms
}

/** Checks, untimed, that each tau variant finds exactly the config it is meant to. */
function checkConfig(variant) {
  const result = spawnSync(process.execPath, [tau, 'config'], { cwd: variant.cwd, env, encoding: 'utf8' })
  const line = result.stdout.split('\n').find((l) => l.startsWith('# file:')) ?? ''
  const found = line.includes('(none') ? undefined : line.slice('# file:'.length).trim()
  const ok = variant.config === undefined ? found === undefined : found === join(variant.cwd, variant.config)
  if (result.status !== 0 || !ok) {
    throw new Error(`${variant.name}: expected config ${variant.config ?? '(none)'}, got '${line}'`)
  }
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo)
}

const ms = (value) => `${value.toFixed(1)} ms`

try {
  for (const variant of variants) if (variant.args[0] === tau) checkConfig(variant)
  for (const variant of variants) run(variant) // warm-up: jiti cache, OS file cache
  const jitiCache = join(tauHome, 'cache', 'jiti')
  const cached = existsSync(jitiCache) ? readdirSync(jitiCache).length : 0

  const times = variants.map(() => [])
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length
      times[i].push(run(variants[i]))
    }
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  console.log('')
  console.log(`whole-process start: ${runs} interleaved runs per variant, wall clock from spawn to exit`)
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs (${cpu})`,
  )
  console.log(`TAU_HOME=${tauHome} (jiti cache: ${cached} file${cached === 1 ? '' : 's'} after warm-up)`)
  console.log('')
  const bareMedian = quantile(
    [...times[0]].sort((a, b) => a - b),
    0.5,
  )
  const bareMin = Math.min(...times[0])
  const rows = variants.map((variant, i) => {
    const sorted = [...times[i]].sort((a, b) => a - b)
    const median = quantile(sorted, 0.5)
    // The paired difference per round is steadier than a difference of medians.
    const paired = times[i].map((t, r) => t - times[0][r]).sort((a, b) => a - b)
    return {
      variant: variant.name,
      median: ms(median),
      'p10-p90': `${sorted.length > 2 ? `${quantile(sorted, 0.1).toFixed(1)}-${quantile(sorted, 0.9).toFixed(1)}` : '-'}`,
      min: ms(sorted[0]),
      'median - node': i === 0 ? '-' : `+${ms(median - bareMedian)}`,
      'paired median - node': i === 0 ? '-' : `+${ms(quantile(paired, 0.5))}`,
      // The least disturbed run of each; steadier than medians on a busy machine.
      'min - node min': i === 0 ? '-' : `+${ms(sorted[0] - bareMin)}`,
      target: variant.target ? { median, paired: quantile(paired, 0.5) } : undefined,
    }
  })
  const width = (key) => Math.max(key.length, ...rows.map((r) => String(r[key]).length))
  const columns = [
    'variant',
    'median',
    'p10-p90',
    'min',
    'median - node',
    'paired median - node',
    'min - node min',
  ]
  console.log(columns.map((c) => c.padEnd(width(c))).join('  '))
  for (const row of rows) console.log(columns.map((c) => String(row[c]).padEnd(width(c))).join('  '))
  const target = rows.find((r) => r.target)?.target
  if (target) {
    const over = target.median - bareMedian
    console.log('')
    console.log(
      `target: tau start with a TypeScript config and a warm cache within ${TARGET_MS} ms of bare node: ` +
        `${over <= TARGET_MS ? 'met' : 'NOT met'} (+${ms(over)} by medians, +${ms(target.paired)} paired)`,
    )
  }
  console.log('')
} finally {
  rmSync(base, { recursive: true, force: true })
}
