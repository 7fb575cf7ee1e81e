#!/usr/bin/env node
/**
 * Grep over a large tree (this repository's node_modules by default): tau's Grep tool, called as
 * the agent calls it (a LocalEnvironment, a tool context), against ripgrep on the same tree with
 * the same rules when `rg` is installed (it is not required; nothing is installed by this script).
 *
 * Cases: a rare literal, a regular expression and a case-insensitive search, each in
 * files_with_matches mode with no head_limit cut (so every file is read: a full scan, the
 * worst case). For each: the median wall time of RUNS runs after one warm-up (the warm-up also
 * fills the OS file cache), the files searched per second, the number of matching files, and for
 * rg the same plus the ratio (the target: tau at most 3x rg). Figures only, no assertions
 * on time (see docs/benchmarks.md).
 *
 * ripgrep is run as `rg -l --hidden --max-filesize 5M -e PATTERN DIR`: tau's Grep also searches
 * hidden files (not .git), respects .gitignore and skips files over 5 MiB and binary files.
 * GNU `grep -rlIE` is timed too, as a rough reference only (one thread, no .gitignore, no size
 * limit), so the figures mean something on machines without ripgrep.
 *
 * Usage: node bench/grep.mjs [runs] [dir]     (default 5 runs over ./node_modules)
 *        TAU_BENCH_CONCURRENCY=24             files tau reads at once
 * Loads dist/ when built (npm run build), else the TypeScript sources through jiti.
 * TAU_HOME is a fresh temporary directory; the real home directory is never touched.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { load, measure as measureCalls, root } from './timing.mjs'

const runs = Number(process.argv[2] ?? process.env.TAU_BENCH_RUNS ?? 5)
const dir = resolve(root, process.argv[3] ?? 'node_modules')
const concurrency = Number(process.env.TAU_BENCH_CONCURRENCY ?? 24)
const home = mkdtempSync(join(tmpdir(), 'tau-bench-grep-'))
process.env.TAU_HOME = home

const { module: grepModule, from } = await load('plugins/tools/builtins/grep')
const { module: sandboxModule } = await load('plugins/sandbox/local')
const { module: walkModule } = await load('plugins/tools/search-walk')
const { module: stateModule } = await load('plugins/tools/tool-state')

const env = new sandboxModule.LocalEnvironment({ cwd: root })
const tool = grepModule.createGrepTool({ concurrency })
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet, name: 'bench' }

async function tauGrep(pattern, extra = {}) {
  const output = await tool.execute(
    { pattern, path: dir, head_limit: 1_000_000_000, ...extra },
    {
      signal: new AbortController().signal,
      env,
      sessionId: 'bench',
      callId: 'bench',
      state: stateModule.createToolState(),
      progress() {},
      logger: quiet,
      model: { vision: false },
    },
  )
  const text = typeof output === 'string' ? output : output.content.map((part) => part.text ?? '').join('\n')
  const found = /^Found (\d+) file/.exec(text)
  return found ? Number(found[1]) : 0
}

const rgVersion = spawnSync('rg', ['--version'], { encoding: 'utf8' })
const hasRg = rgVersion.status === 0
function rg(pattern, extra = []) {
  const result = spawnSync('rg', ['-l', '--hidden', '--max-filesize', '5M', ...extra, '-e', pattern, dir], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (result.status !== 0 && result.status !== 1) throw new Error(`rg failed: ${result.stderr}`)
  return result.stdout.split('\n').filter(Boolean).length
}

// GNU grep, a rough reference only: one thread, no .gitignore, no size limit, binary = NUL early.
const hasGrep = spawnSync('grep', ['--version'], { encoding: 'utf8' }).status === 0
function gnuGrep(pattern, extra = []) {
  const result = spawnSync('grep', ['-rlIE', ...extra, '--exclude-dir=.git', '-e', pattern, dir], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  if (result.status !== 0 && result.status !== 1) throw new Error(`grep failed: ${result.stderr}`)
  return result.stdout.split('\n').filter(Boolean).length
}

const measure = (fn) => measureCalls(fn, { runs })

// The files a search reads: the same walk Grep does (gitignore, no symlinks, .git skipped).
let files = 0
for await (const _ of walkModule.walkFiles({ env, root: dir, patterns: ['**/*'] })) files++

const cases = [
  { name: 'rare literal', pattern: 'createFileSystemAdapter' },
  { name: 'regex', pattern: 'function\\s+\\w+Sync\\(' },
  { name: '-i literal', pattern: 'deprecated', tau: { '-i': true }, rg: ['-i'] },
]

console.log(`Grep over ${dir}`)
console.log(
  `${files} files walked; tau from ${from}; concurrency ${concurrency}; ${runs} runs after 1 warm-up; ` +
    `node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
)
console.log(
  hasRg
    ? `ripgrep: ${rgVersion.stdout.split('\n')[0]}`
    : 'ripgrep: not installed (no rg figures; install it to compare)',
)
console.log('')
const rows = [['case', 'tool', 'ms (median)', 'files/s', 'matching files', 'tau / this']]
for (const c of cases) {
  const t = await measure(() => tauGrep(c.pattern, c.tau))
  const row = (tool, m) => [
    c.name,
    tool,
    m.ms.toFixed(0),
    Math.round(files / (m.ms / 1000)).toString(),
    String(m.result),
    tool === 'tau' ? '' : `${(t.ms / m.ms).toFixed(2)}x`,
  ]
  rows.push(row('tau', t))
  if (hasRg) rows.push(row('rg', await measure(() => rg(c.pattern, c.rg))))
  if (hasGrep) rows.push(row('grep -r (reference)', await measure(() => gnuGrep(c.pattern, c.rg))))
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
for (const row of rows)
  console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
rmSync(home, { recursive: true, force: true })
