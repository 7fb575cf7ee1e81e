// An event-loop stall monitor to preload into a `tau worker` (or any tau process): every gap of
// more than STALL_MS (250) between its 20 ms ticks is a line of `$STALLS_DIR/stalls-<pid>.log`
// (default /tmp/tau-stalls; the tests' workers get an allowlisted env, so there the defaults
// apply and STALL_PROFILE is off), with the
// CPU the process used inside the gap (high: synchronous work of its own; near 0: the machine
// did not schedule it), and so are GC pauses over 100 ms and the process's stdout/stderr lines
// (to place the stalls: 'is running', 'stopped sending heartbeats'). With STALL_PROFILE=1 it also
// samples a CPU profile and writes the stretch up to each stall as stalls-<pid>-<n>.cpuprofile
// (open it in Chrome's DevTools; the frames of the stall's last STALL_MS are its cause).
//   node --import ./bench/event-loop-stalls.mjs dist/bin/tau.js worker
// The durable end-to-end files start their workers with it when TAU_TEST_WORKER_IMPORT names it:
//   TAU_TEST_WORKER_IMPORT=$PWD/bench/event-loop-stalls.mjs \
//     npx vitest run --project e2e test/e2e/durable-workflow.test.ts
//   grep -h ' stall ' /tmp/tau-stalls/*.log | sort -k3 -n | tail
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { join } from 'node:path'
import { PerformanceObserver, performance } from 'node:perf_hooks'

const dir = process.env.STALLS_DIR ?? '/tmp/tau-stalls'
const threshold = Number(process.env.STALL_MS ?? 250)
mkdirSync(dir, { recursive: true })
const file = join(dir, `stalls-${process.pid}.log`)
const t0 = performance.now()
const log = (line) => appendFileSync(file, `${((performance.now() - t0) / 1000).toFixed(2)} ${line}\n`)
log(`start ${process.argv.slice(2).join(' ')}`)

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream)
  stream.write = (chunk, ...rest) => {
    log(`out ${String(chunk).slice(0, 120).replace(/\n/g, ' ')}`)
    return write(chunk, ...rest)
  }
}

let post
if (process.env.STALL_PROFILE === '1') {
  const session = new Session()
  session.connect()
  post = (method, params = {}) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 1000 })
  await post('Profiler.start')
}
let profiles = 0
let last = performance.now()
let cpu = process.cpuUsage()
setInterval(async () => {
  const now = performance.now()
  const gap = now - last - 20
  last = now
  const used = process.cpuUsage(cpu)
  cpu = process.cpuUsage()
  if (gap <= threshold) return
  log(`stall ${gap.toFixed(0)} ms (cpu in it ${((used.user + used.system) / 1000).toFixed(0)} ms)`)
  if (post) {
    const { profile } = await post('Profiler.stop')
    writeFileSync(join(dir, `stalls-${process.pid}-${++profiles}.cpuprofile`), JSON.stringify(profile))
    await post('Profiler.start')
  }
}, 20).unref()
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.duration > 100) log(`gc ${entry.duration.toFixed(0)} ms`)
}).observe({ entryTypes: ['gc'] })
