#!/usr/bin/env node
/**
 * What tau's agent loop allocates: one `tau start -p` (coding preset, default durability) of N
 * Read turns against the scripted server, under V8's sampling heap profiler with collected objects
 * included (bench/allocation-sampler.cjs), so the figure is every byte allocated in the V8 heap,
 * not what is alive at the end. Prints the total and the largest allocators, each sample given to
 * its innermost frame of tau's own code (mapped to the source through dist/bin/cli.js.map).
 * Allocation is what the young generation's collections follow; GC was the largest per-turn gap
 * to the floor in the eleventh session's phase tables (docs/benchmarks.md). Figures only.
 *
 * Usage: node bench/loop-allocations.mjs [turns] [wire] [top]   (needs npm run build)
 *        defaults: 200 turns, openai, 12 frames; wire is openai | anthropic | ollama | all
 *        TAU_BENCH_BASELINE=path/to/old/dist/bin/tau.js   also profiles that build
 * TAU_HOME is a fresh temporary directory; no request leaves 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const turns = Number(process.argv[2] ?? 200)
const which = process.argv[3] ?? 'openai'
const top = Number(process.argv[4] ?? 12)
const builds = {
  this: join(root, 'dist', 'bin', 'tau.js'),
  ...(process.env.TAU_BENCH_BASELINE ? { baseline: process.env.TAU_BENCH_BASELINE } : {}),
}
for (const tau of Object.values(builds)) {
  if (!existsSync(tau)) {
    console.error(`bench/loop-allocations.mjs: ${tau} is missing; run \`npm run build\` first`)
    process.exit(1)
  }
}

import { readTurnsProject } from './read-turns.mjs'

const { startScriptedServer } = await import(
  pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
)

/** One run of `tau` under the sampler; resolves with the profile's path. */
async function profileRun(tau, wire) {
  const { base, project, server, env, script } = await readTurnsProject(
    startScriptedServer,
    wire,
    'tau-bench-alloc-',
  )
  server.push(...script(turns))
  const sampler = join(root, 'bench', 'allocation-sampler.cjs')
  try {
    const err = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--require', sampler, tau, 'start', '-p', 'Read the notes'], {
        cwd: project,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let text = ''
      child.stderr.on('data', (chunk) => {
        text += chunk
      })
      child.on('error', reject)
      child.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`tau exited ${code}:\n${text}`)),
      )
    })
    const file = /ALLOCATIONS (\S+)/.exec(err)?.[1]
    if (!file) throw new Error(`no allocation profile:\n${err}`)
    return file
  } finally {
    await server.close()
    rmSync(base, { recursive: true, force: true })
  }
}

/** Total bytes and the bytes by innermost tau frame (function and source line). */
function summarise(file, tau) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  rmSync(file, { force: true })
  const map = new SourceMap(JSON.parse(readFileSync(join(dirname(tau), 'cli.js.map'), 'utf8')))
  const nameOf = (frame) => {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber)
    const source = (entry.originalSource ?? '?').replace(/^.*?(plugins|kernel|node_modules)\//, '$1/')
    return `${frame.functionName || '(anonymous)'} ${source}:${(entry.originalLine ?? -1) + 1}`
  }
  const byFrame = new Map()
  let total = 0
  const walk = (node, owner) => {
    const own = node.callFrame.url.endsWith('cli.js') ? nameOf(node.callFrame) : owner
    if (node.selfSize > 0) {
      total += node.selfSize
      const key = own ?? '(not tau code)'
      byFrame.set(key, (byFrame.get(key) ?? 0) + node.selfSize)
    }
    for (const child of node.children) walk(child, own)
  }
  walk(profile.head, undefined)
  return { total, frames: [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, top) }
}

const mb = (bytes) => (bytes / 1e6).toFixed(1)
console.log(`V8 heap allocated by one tau run of ${turns} Read turns, node ${process.version}`)
for (const wire of which === 'all' ? ['openai', 'anthropic', 'ollama'] : [which]) {
  for (const [name, tau] of Object.entries(builds)) {
    const { total, frames } = summarise(await profileRun(tau, wire), tau)
    console.log(`  ${wire}, ${name}: ${mb(total)} MB in all (${(total / turns / 1e3).toFixed(0)} kB a turn)`)
    for (const [frame, bytes] of frames) console.log(`    ${mb(bytes).padStart(6)} MB  ${frame}`)
  }
}
