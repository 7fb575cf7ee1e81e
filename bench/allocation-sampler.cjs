/**
 * A preload for bench/loop-allocations.mjs (`node --require bench/allocation-sampler.cjs ...`):
 * V8's sampling heap profiler from the start, collected objects included (what was allocated, not
 * only what is still alive), written at exit as JSON to `<os.tmpdir()>/tau-alloc-<pid>.heapprofile`,
 * its path to stderr after the marker `ALLOCATIONS `. It changes nothing else in the process.
 */
const inspector = require('node:inspector')
const { writeFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

const session = new inspector.Session()
session.connect()
session.post('HeapProfiler.enable')
session.post('HeapProfiler.startSampling', {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
})
process.on('exit', () => {
  // The session is on this thread: the callback runs before post() returns.
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) return
    const file = join(tmpdir(), `tau-alloc-${process.pid}.heapprofile`)
    writeFileSync(file, JSON.stringify(result.profile))
    process.stderr.write(`ALLOCATIONS ${file}\n`)
  })
})
