#!/usr/bin/env node
/**
 * Two pieces of a `tau` start too small for a whole-process A/B on a busy machine (a few ms in
 * 200), each timed by process.cpuUsage() in fresh processes, the two ways alternating:
 *
 *   cache name   what the launcher does to name its code cache entry (bin/tau.ts): read the body
 *                and hash its 2 MB (`hash`, main before the eleventh session's round 2), or read
 *                it and take the build's hash with the file's fstat (`built-in`)
 *   tools        the tools plugin's builtinTools() with the config's defaults (`defaults`: Glob,
 *                Grep, LS and Read are the module's own tools) and with each of their limits one
 *                off (`made`: the four made again, as they were for the defaults before)
 *
 * Usage: node bench/start-pieces.mjs [runs]   (needs npm run build; default 21 runs)
 * Figures only, no assertions (docs/benchmarks.md).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const runs = Number(process.argv[2] ?? 21)
const root = fileURLToPath(new URL('..', import.meta.url))
const body = join(root, 'dist', 'bin', 'cli.js')
const toolsIndex = pathToFileURL(join(root, 'dist', 'plugins', 'tools', 'index.js')).href
if (!existsSync(body)) {
  console.error(`bench/start-pieces.mjs: ${body} is missing; run \`npm run build\` first`)
  process.exit(1)
}

const CPU =
  'const cpu = (f) => { const s = process.cpuUsage(); f(); const d = process.cpuUsage(s); return (d.user + d.system) / 1000 }'
const pieces = {
  'cache name': {
    hash: `${CPU}; const fs = require('node:fs')
      console.log(cpu(() => { const b = fs.readFileSync(${JSON.stringify(body)}); require('node:crypto').createHash('sha1').update(b).digest('hex') }))`,
    'built-in': `${CPU}; const fs = require('node:fs')
      console.log(cpu(() => { const fd = fs.openSync(${JSON.stringify(body)}, 'r'); fs.readFileSync(fd); const s = fs.fstatSync(fd, { bigint: true }); fs.closeSync(fd)
        require('node:crypto').createHash('sha1').update('0'.repeat(40) + s.size + s.dev + s.ino + s.ctimeNs).digest('hex') }))`,
  },
  tools: {
    defaults: `${CPU}; import(${JSON.stringify(toolsIndex)}).then((t) => { const c = t.toolsConfig.parse({}); console.log(cpu(() => t.builtinTools(c))) })`,
    made: `${CPU}; import(${JSON.stringify(toolsIndex)}).then((t) => { const c = t.toolsConfig.parse({ read: { maxLines: 2001 }, glob: { limit: 101 }, grep: { headLimit: 251 }, ls: { limit: 1001 } }); console.log(cpu(() => t.builtinTools(c))) })`,
  },
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
for (const [piece, ways] of Object.entries(pieces)) {
  const samples = Object.fromEntries(Object.keys(ways).map((way) => [way, []]))
  const names = Object.keys(ways)
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const way = names[(round + k) % names.length]
      const child = spawnSync(process.execPath, ['-e', ways[way]], { cwd: root, encoding: 'utf8' })
      if (child.status !== 0) throw new Error(`${piece} ${way}: ${child.stderr}`)
      samples[way].push(Number(child.stdout.trim()))
    }
  }
  const line = names.map((way) => `${way} ${median(samples[way]).toFixed(2)} ms`).join(', ')
  console.log(`${piece}: ${line} (CPU medians of ${runs} fresh processes)`)
}
