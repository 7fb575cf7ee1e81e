#!/usr/bin/env node
/**
 * What the start-up guard of the die-with-tau launchers costs per command (launcher.ts): the
 * setpriv launcher's `$PPID` check, and under bubblewrap the launcher as the sandbox's PID 1
 * (`--as-pid-1`) asking tau for a go-ahead on fd 3, each against the same command started as
 * before the guard (the old launcher script; bwrap's own init, no fd 3). One `true` a call,
 * through the process-group runner a tool's exec uses, alternating old and new call by call so
 * machine load falls on both alike. Medians (p90) of RUNS calls after WARMUP; then the CPU the
 * children used (user + system, from /proc/self/stat: reaped children's times), per call, over
 * a block of RUNS calls of each case: what a loaded machine does not blur. Figures only.
 *
 * Usage: node bench/launcher-guard.mjs [runs]     (default 200; needs dist/: npm run build)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { load, median, percentile, timeOnce } from './timing.mjs'

const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 200)
const warmup = 20
const cwd = mkdtempSync(join(tmpdir(), 'tau-bench-guard-'))

const { module: group, from } = await load('plugins/sandbox/process-group')
const { module: launcher } = await load('plugins/sandbox/launcher')
const { module: bwrap } = await load('plugins/sandbox/bwrap')
const { module: policies } = await load('plugins/sandbox/policy')

// The launcher as it was before the guard: today's script without the parent check and the
// `shift` of the parent argument it reads, so the A/B measures the guard and nothing else.
const OLD_LAUNCHER = launcher.LAUNCHER_SCRIPT.split('\n')
  .filter((line) => !line.includes('"$PPID"') && line !== 'shift')
  .join('\n')

const command = ['/bin/sh', '-c', 'true']
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', SHLVL: '1' }
const cases = []
const setpriv = launcher.pdeathsigLauncher()
if (setpriv) {
  cases.push([
    'setpriv launcher, before',
    {
      argv: [setpriv, '--pdeathsig', 'USR1', '--', '/bin/sh', '-c', OLD_LAUNCHER, 'tau-launcher', ...command],
    },
  ])
  cases.push(['setpriv launcher, $PPID checked', { argv: launcher.withLauncher(command, setpriv) }])
}
const status = bwrap.bwrapStatus()
if (status.available) {
  const policy = policies.resolvePolicy(
    {
      filesystem: { allowWrite: [], denyWrite: [], denyRead: [] },
      network: { mode: 'none', allowedDomains: [], deniedDomains: [] },
    },
    { cwd, roots: [cwd], tauHome: join(cwd, '.no-tau-home') },
  )
  const args = bwrap.bwrapArgs({ roots: [cwd], cwd, policy })
  cases.push(['bwrap, before (its init, no fd 3)', { argv: [status.path, ...args, '--', ...command] }])
  cases.push([
    'bwrap, launcher as PID 1 + go-ahead',
    {
      argv: [status.path, ...args, '--as-pid-1', '--', ...launcher.inSandboxLauncher(command)],
      goAhead: true,
    },
  ])
}

console.log(`launcher guard: ${runs} calls per case after ${warmup} warm-up, from ${from}`)
console.log(
  `node ${process.version}, ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )}; setpriv: ${setpriv ?? 'none'}; bwrap: ${status.available ? `${status.path} (${status.version})` : status.reason}`,
)
const times = new Map(cases.map(([name]) => [name, []]))
for (let i = 0; i < warmup + runs; i++) {
  for (const [name, extra] of cases) {
    const { result, ms } = await timeOnce(
      () => group.runInGroup({ command: 'true', cwd, env, killGraceMs: 2000, ...extra }).result,
    )
    if (result.exitCode !== 0) throw new Error(`${name}: exit ${result.exitCode}: ${result.stderr}`)
    if (i >= warmup) times.get(name).push(ms)
  }
}
for (const [name] of cases) {
  const t = times.get(name)
  console.log(
    `  ${name.padEnd(38)} ${median(t).toFixed(1).padStart(7)} ms (p90 ${percentile(t, 0.9).toFixed(1)})`,
  )
}
/** CPU seconds of reaped children (cutime + cstime, clock ticks of 10 ms). */
const childCpu = () => {
  const fields = readFileSync('/proc/self/stat', 'latin1').split(') ')[1].split(' ')
  return (Number(fields[13]) + Number(fields[14])) / 100
}
console.log('children CPU per call (user + system):')
for (const [name, extra] of cases) {
  const before = childCpu()
  for (let i = 0; i < runs; i++) {
    await group.runInGroup({ command: 'true', cwd, env, killGraceMs: 2000, ...extra }).result
  }
  console.log(`  ${name.padEnd(38)} ${(((childCpu() - before) / runs) * 1000).toFixed(2).padStart(7)} ms`)
}
console.log(
  `load at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
)
rmSync(cwd, { recursive: true, force: true })
