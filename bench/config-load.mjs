#!/usr/bin/env node
/**
 * What a project's config and plugins cost a start: `tau config` (load the config, assemble the
 * plugins, print) with a fresh TAU_HOME a run (so no transpile cache), in CPU (user+sys, from
 * /usr/bin/time), for four projects on the minimal preset:
 *   json      tau.config.json and nothing else
 *   mjs       + a .mjs plugin that imports nothing
 *   mjs-zod   + that plugin importing zod (the project's own, in its node_modules)
 *   mjs-tau   + that plugin importing definePlugin from 'tau-agent'
 * Rounds alternate the variants (and the builds, with --against), so load drift hits all alike;
 * prints medians. Figures only, no assertions (see docs/benchmarks.md).
 *
 * Usage: node bench/config-load.mjs [runs] [--against <dir of another checkout, built>]
 *   (needs a build: npm run build; default 15 runs)
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const againstAt = args.indexOf('--against')
const against = againstAt >= 0 ? resolve(args.splice(againstAt, 2)[1]) : undefined
const runs = Number(args[0] ?? 15)
const root = fileURLToPath(new URL('..', import.meta.url))
const builds = { this: join(root, 'dist', 'bin', 'tau.js') }
if (against !== undefined) builds.against = join(against, 'dist', 'bin', 'tau.js')
for (const tau of Object.values(builds)) {
  if (!existsSync(tau)) {
    console.error(`bench/config-load.mjs: ${tau} is missing; run \`npm run build\` there first`)
    process.exit(1)
  }
}

const base = mkdtempSync(join(tmpdir(), 'tau-bench-config-load-'))
const plugin = (imports, marker) => `${imports}
export default ${marker}({ name: 'bench-plugin', setup() {} })
`
const bare = `const definePlugin = (plugin) => ({ ...plugin, [Symbol.for('tau.plugin')]: true })`
const variants = {
  json: undefined,
  mjs: plugin(bare, 'definePlugin'),
  'mjs-zod': plugin(`import { z } from 'zod'\n${bare}\nz.object({ a: z.string() })`, 'definePlugin'),
  'mjs-tau': plugin(`import { definePlugin } from 'tau-agent'`, 'definePlugin'),
}
const dirs = {}
for (const [name, text] of Object.entries(variants)) {
  const dir = join(base, name)
  mkdirSync(join(dir, 'node_modules'), { recursive: true })
  symlinkSync(join(root, 'node_modules', 'zod'), join(dir, 'node_modules', 'zod'))
  const config = { preset: 'minimal', model: 'scripted:bench' }
  if (text !== undefined) {
    writeFileSync(join(dir, 'plugin.mjs'), text)
    config.plugins = ['./plugin.mjs']
  }
  writeFileSync(join(dir, 'tau.config.json'), JSON.stringify(config))
  dirs[name] = dir
}

/** One `tau config` in a project with a fresh TAU_HOME: user+sys seconds. */
function run(tau, dir) {
  const home = mkdtempSync(join(base, 'home-'))
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, tau, 'config'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: home, TAU_HOME: home },
    encoding: 'utf8',
  })
  rmSync(home, { recursive: true, force: true })
  if (result.status !== 0) throw new Error(`tau config in ${dir} failed:\n${result.stdout}${result.stderr}`)
  const [user, sys] = result.stderr.trim().split('\n').at(-1).split(' ').map(Number)
  return user + sys
}

const cases = Object.keys(builds).flatMap((build) => Object.keys(dirs).map((v) => [build, v]))
for (const [build, v] of cases) run(builds[build], dirs[v]) // warm the OS file cache
const samples = Object.fromEntries(cases.map(([b, v]) => [`${b} ${v}`, []]))
for (let round = 0; round < runs; round++) {
  for (let i = 0; i < cases.length; i++) {
    const [build, v] = cases[(i + round) % cases.length]
    samples[`${build} ${v}`].push(run(builds[build], dirs[v]))
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
console.log(`tau config, fresh TAU_HOME, CPU user+sys, median of ${runs} (Node ${process.version})`)
console.log(['variant', ...Object.keys(builds)].join('\t'))
for (const v of Object.keys(dirs)) {
  console.log(
    [v, ...Object.keys(builds).map((b) => `${median(samples[`${b} ${v}`]).toFixed(2)} s`)].join('\t'),
  )
}
rmSync(base, { recursive: true, force: true })
