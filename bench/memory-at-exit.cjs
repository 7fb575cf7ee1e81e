/**
 * A preload for bench/loop-memory.mjs (`node --require bench/memory-at-exit.cjs ...`): at exit it
 * writes one line to stderr with process.memoryUsage() and V8's heap spaces, in MiB, as JSON
 * after the marker `MEMORY `. It changes nothing else in the process it is loaded into.
 */
const v8 = require('node:v8')

process.on('exit', () => {
  const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10
  const usage = process.memoryUsage()
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((space) => [space.space_name, mib(space.space_size)]),
  )
  const line = {
    rss: mib(usage.rss),
    maxRss: mib(process.resourceUsage().maxRSS * 1024),
    heapTotal: mib(usage.heapTotal),
    heapUsed: mib(usage.heapUsed),
    external: mib(usage.external),
    arrayBuffers: mib(usage.arrayBuffers),
    newSpace: spaces.new_space ?? 0,
    oldSpace: spaces.old_space ?? 0,
    codeSpace: spaces.code_space ?? 0,
  }
  process.stderr.write(`MEMORY ${JSON.stringify(line)}\n`)
})
