#!/usr/bin/env node
/**
 * The cost of confining a tool process: one Bash-like call (`/bin/sh -c true`, and `echo`
 * through the environment's exec) under each backend the environment offers, measured the way a
 * tool calls it (Environment.exec, result awaited): the local environment without the
 * die-with-tau launcher (what tau did before), with it (the default off bwrap), and bubblewrap
 * (network none; and with a denyRead list, what a real policy adds). Medians of RUNS calls after
 * WARMUP, alternating backends call by call so machine load falls on all alike. Figures only, no
 * assertions (docs/benchmarks.md). The issue's target: bwrap at most +10 ms per call over local.
 *
 * Usage: node bench/sandbox-exec.mjs [runs]     (default 200)
 * Loads dist/ when built (npm run build), else the TypeScript sources through jiti.
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { load, median, percentile, timeOnce } from './timing.mjs'

const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 200)
const warmup = 20
const home = mkdtempSync(join(tmpdir(), 'tau-bench-sandbox-home-'))
const cwd = mkdtempSync(join(tmpdir(), 'tau-bench-sandbox-'))
process.env.TAU_HOME = home

const { module: local, from } = await load('plugins/sandbox/local')
const { module: bwrap } = await load('plugins/sandbox/bwrap')
const { module: launcher } = await load('plugins/sandbox/launcher')

const base = { cwd, tauHome: home }
const backends = [
  ['local, no launcher (before)', new local.LocalEnvironment({ ...base, launcher: false })],
  ['local + die-with-tau launcher', new local.LocalEnvironment(base)],
]
const status = bwrap.bwrapStatus()
if (status.available) {
  backends.push(['bwrap (network none)', new bwrap.BwrapEnvironment(base)])
  backends.push([
    'bwrap + denyRead of 5 paths',
    new bwrap.BwrapEnvironment({
      ...base,
      policy: {
        filesystem: {
          allowWrite: [],
          denyWrite: [],
          denyRead: ['/etc/hostname', '/etc/os-release', '/usr/share/doc', '/usr/share/man', '/var/log'],
        },
        network: { mode: 'none', allowedDomains: [], deniedDomains: [] },
      },
    }),
  ])
}

const commands = [
  ['sh -c true', 'true'],
  ['echo to stdout', 'echo hello'],
]
const p90 = (values) => percentile(values, 0.9)

console.log(`sandbox exec: ${runs} calls per case after ${warmup} warm-up, from ${from}`)
console.log(
  `node ${process.version}, ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
)
console.log(
  `bwrap: ${status.available ? `${status.path} (${status.version})` : status.reason}; launcher: ${launcher.pdeathsigLauncher() ?? 'none'}`,
)
for (const [label, command] of commands) {
  const times = new Map(backends.map(([name]) => [name, []]))
  for (let i = 0; i < warmup + runs; i++) {
    for (const [name, env] of backends) {
      const { result, ms } = await timeOnce(() => env.exec(command))
      if (result.exitCode !== 0) throw new Error(`${name}: ${command} failed: ${result.stderr}`)
      if (i >= warmup) times.get(name).push(ms)
    }
  }
  const baseline = median(times.get(backends[0][0]))
  console.log(`\n${label}`)
  for (const [name] of backends) {
    const t = times.get(name)
    const m = median(t)
    console.log(
      `  ${name.padEnd(32)} median ${m.toFixed(2).padStart(6)} ms  p90 ${p90(t).toFixed(2).padStart(6)} ms  +${(m - baseline).toFixed(2)} ms`,
    )
  }
}
for (const [, env] of backends) await env.dispose()
rmSync(home, { recursive: true, force: true })
rmSync(cwd, { recursive: true, force: true })
