#!/usr/bin/env node
/**
 * Where a one-turn `tau start -p` spends its CPU inside the body, by module: an instrumented copy
 * of the build's body (dist/bin/cli.js) times every esbuild module init (`__esm`, self time:
 * the modules it initialises itself are taken out) and every call of the tools' toJsonSchema with
 * process.cpuUsage(), and writes them at exit. The copy gets its own code cache (its own name),
 * filled by an untimed first run, so what is timed is execution, as in a warm start.
 *
 *   body start   CPU when the body's first line runs: Node's bootstrap, the launcher, the cache's
 *                read and vm.Script's deserialising
 *   module init  the sum of every module init's self time (GC during it included)
 *   toJsonSchema JSON Schemas derived from zod inputs during the run
 *   exit         CPU at exit, the whole run
 *
 * With TAU_BENCH_BASELINE=old/dist (a copy of another build's dist/), both are instrumented and
 * run in alternating order, and the rows are that build's against this one's. Medians; figures
 * only, no assertions (docs/benchmarks.md). The coding preset, the scripted OpenAI server on
 * loopback answering at once; TAU_HOME and HOME are a fresh temporary directory.
 *
 * Usage: node bench/start-modules.mjs [runs] [rows]   (needs npm run build; default 11 runs, 15 rows)
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const runs = Number(process.argv[2] ?? 11)
const rows = Number(process.argv[3] ?? 15)
const root = fileURLToPath(new URL('..', import.meta.url))
const builds = { 'this build': join(root, 'dist') }
if (process.env.TAU_BENCH_BASELINE) builds.baseline = process.env.TAU_BENCH_BASELINE
for (const dist of Object.values(builds)) {
  if (!existsSync(join(dist, 'bin', 'cli.js'))) {
    console.error(`bench/start-modules.mjs: ${dist}/bin/cli.js is missing; run \`npm run build\` first`)
    process.exit(1)
  }
}

const ESM =
  'var __esm=(fn,res,err)=>function(){if(err)throw err[0];try{return fn&&(res=(0,fn[__getOwnPropNames(fn)[0]])(fn=0)),res}catch(e){throw err=[e],e}};'
const TIMED_ESM = `var __bCpu=()=>{const u=process.cpuUsage();return u.user+u.system},__bStart=__bCpu(),__bStack=[],__bSelf=new Map;
process.on('exit',()=>require('node:fs').writeFileSync(process.env.TAU_BENCH_MODULES_OUT,JSON.stringify({start:__bStart,exit:__bCpu(),self:[...__bSelf]})));
var __esm=(fn,res,err)=>function(){if(err)throw err[0];if(!fn)return res;const name=__getOwnPropNames(fn)[0],t=__bCpu();__bStack.push(0);
try{return fn&&(res=(0,fn[name])(fn=0)),res}catch(e){throw err=[e],e}finally{const d=__bCpu()-t,kids=__bStack.pop();__bSelf.set(name,(__bSelf.get(name)||0)+d-kids);if(__bStack.length)__bStack[__bStack.length-1]+=d}};`
const TO_JSON = 'function toJsonSchema(schema){'
const TIMED_TO_JSON =
  'function toJsonSchema(schema){const t=__bCpu();try{return toJsonSchema$b(schema)}finally{__bSelf.set("[toJsonSchema]",(__bSelf.get("[toJsonSchema]")||0)+__bCpu()-t)}}function toJsonSchema$b(schema){'

const base = mkdtempSync(join(tmpdir(), 'tau-bench-start-modules-'))
/** An instrumented copy of a build's dist/ (the body's text changed in place, on one line). */
function instrumented(name, dist) {
  const copy = join(base, name.replace(/\W/g, '-'), 'dist')
  cpSync(dist, copy, { recursive: true })
  const file = join(copy, 'bin', 'cli.js')
  let body = readFileSync(file, 'latin1')
  if (!body.includes(ESM)) throw new Error(`${file}: esbuild's __esm helper is not the one this bench knows`)
  body = body.replace(ESM, TIMED_ESM.replaceAll('\n', ''))
  if (body.includes(TO_JSON)) body = body.replace(TO_JSON, TIMED_TO_JSON)
  writeFileSync(file, body, 'latin1')
  return join(copy, 'bin', 'tau.js')
}

const { startScriptedServer } = await import(
  pathToFileURL(join(root, 'dist', 'plugins', 'provider-scripted', 'server.js')).href
)
const server = await startScriptedServer({
  format: 'openai',
  script: [],
  respond: () => ({ text: 'Hello.', usage: { inputTokens: 10, outputTokens: 2 } }),
})
const project = join(base, 'project')
mkdirSync(join(base, 'home'))
mkdirSync(project)
writeFileSync(
  join(project, 'tau.config.json'),
  `${JSON.stringify({ preset: 'coding', model: 'openai:scripted-model', providers: { openai: { baseURL: `${server.url}/v1` } } }, null, 2)}\n`,
)
const out = join(base, 'modules.json')
const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  TAU_HOME: join(base, 'home'),
  HOME: base,
  OPENAI_API_KEY: 'sk-bench',
  TAU_BENCH_MODULES_OUT: out,
}

function run(tau) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tau, 'start', '-p', 'hi', '--output-format', 'json'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let text = ''
    child.stdout.on('data', (chunk) => {
      text += chunk
    })
    child.stderr.on('data', (chunk) => {
      text += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0 || !text.includes('"Hello."')) reject(new Error(`${tau} exited ${code}:\n${text}`))
      else resolve(JSON.parse(readFileSync(out, 'utf8')))
    })
  })
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

try {
  const load = loadavg()
  const taus = Object.entries(builds).map(([name, dist]) => [name, instrumented(name, dist)])
  for (const [, tau] of taus) await run(tau) // fills the copy's code cache
  const samples = Object.fromEntries(taus.map(([name]) => [name, []]))
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < taus.length; k++) {
      const [name, tau] = taus[(round + k) % taus.length]
      samples[name].push(await run(tau))
    }
  }
  const names = taus.map(([name]) => name)
  const stat = (name, pick) => median(samples[name].map(pick)) / 1000
  const self = (name, module) => stat(name, (s) => new Map(s.self).get(module) ?? 0)
  const line = (label, values) =>
    console.log(`${label.padEnd(48)}${values.map((v) => `${v.toFixed(1)} ms`.padStart(12)).join('')}`)
  console.log(
    `\none-turn tau start -p, instrumented body, CPU medians of ${runs} alternated runs; node ${process.version}, load ${load.map((l) => l.toFixed(1)).join(' ')} -> ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  )
  console.log(`${''.padEnd(48)}${names.map((n) => n.padStart(12)).join('')}`)
  line(
    'body start (bootstrap, launcher, cache)',
    names.map((n) => stat(n, (s) => s.start)),
  )
  line(
    'module init (sum of self times)',
    names.map((n) =>
      stat(n, (s) => s.self.reduce((sum, [m, us]) => (m.startsWith('[') ? sum : sum + us), 0)),
    ),
  )
  line(
    'toJsonSchema',
    names.map((n) => self(n, '[toJsonSchema]')),
  )
  line(
    'exit (the whole run)',
    names.map((n) => stat(n, (s) => s.exit)),
  )
  const modules = new Set(names.flatMap((n) => samples[n].flatMap((s) => s.self.map(([m]) => m))))
  const top = [...modules]
    .filter((m) => !m.startsWith('['))
    .map((m) => [m, Math.max(...names.map((n) => self(n, m)))])
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
  console.log(`\nmodule init, self time (the ${rows} largest)`)
  for (const [m] of top)
    line(
      `  ${m}`,
      names.map((n) => self(n, m)),
    )
} finally {
  await server.close()
  rmSync(base, { recursive: true, force: true })
}
