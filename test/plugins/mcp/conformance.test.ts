/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, client side) against
 * tau's MCP client. For each client scenario of the installed release, its runner starts the
 * scenario's servers on loopback and runs `conformance/tau-client.mjs <url>`, which hands the
 * scenario to one `conformance/tau-client-host.mjs` process: the host drives the compiled `mcp`
 * plugin, a kernel of its own per scenario (tau-client-run.mjs); the runner's verdict (every check
 * a success, no warning, the client not failing where it should not) is the test's.
 *
 * One scenario fails because the SDK lacks the feature, and is asserted to fail exactly there
 * (so this test notices when an SDK release adds it): see EXPECTED_FAILURES and the README.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const RUNNER = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js')
const ADAPTER = fileURLToPath(new URL('./conformance/tau-client.mjs', import.meta.url))
const HOST = fileURLToPath(new URL('./conformance/tau-client-host.mjs', import.meta.url))
const NODE20_FS = fileURLToPath(new URL('./conformance/node20-fs-register.mjs', import.meta.url))

/** Scenarios the SDK cannot pass yet, with the checks that fail and why. */
const EXPECTED_FAILURES: Record<string, { checks: string[]; reason: string }> = {
  'auth/cross-app-access-complete-flow': {
    checks: ['complete-flow-token-exchange', 'complete-flow-jwt-bearer'],
    reason:
      'SEP-990 enterprise-managed authorization: @modelcontextprotocol/sdk 1.32 has no token-exchange (RFC 8693, ID-JAG) or jwt-bearer (RFC 7523) grant provider',
  },
}

/** Timing-sensitive (reconnects after the `retry` the server sets): run alone, before the rest. */
const ALONE = ['sse-retry']
/**
 * The rest runs through the runner's `--suite all`: one runner process starts every scenario at
 * once (a runner's start is ~1 s of CPU; `--scenario` paid it once per scenario). Its clients are
 * tau-client.mjs forwarders (a bare node start each) to one client host, which boots tau once:
 * a tau client process of its own per scenario cost ~0.6 s of CPU each, and 14 of them booting at
 * once outlasted the clients' connect limit on a busy machine. Scenarios the suite left without a
 * result (a runner that failed) then run one at a time, PARALLEL at once.
 */
const SUITE = 'all'
const PARALLEL = 3
/**
 * Scenarios whose client is meant to fail (the runner's `allowClientError`): the retry limit
 * and the mismatched resource end the connection on purpose. `--suite` reports checks only, so
 * the client's exit is read from the adapter's own last stdout line (`tau-client: exit N`).
 */
const CLIENT_MAY_FAIL = ['auth/scope-retry-limit', 'auth/resource-mismatch']

interface Check {
  id: string
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED'
  errorMessage?: string
}

interface Outcome {
  /** The runner's exit code (a `--scenario` run), or the client's (a scenario of a suite). */
  code: number | null
  checks: Check[]
  output: string
}

const fs20 = typeof ((await import('node:fs')) as { globSync?: unknown }).globSync !== 'function'
const nodeArgs = fs20 ? ['--import', NODE20_FS] : []

/** The client host's socket: the runner's clients (tau-client.mjs) find it in their environment. */
let hostSocket = ''
let host: ChildProcess | undefined
let hostOutput = ''

function runNode(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1', TAU_CONFORMANCE_HOST: hostSocket },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** Starts the client host; resolves once it accepts connections (its `listening` line). */
function startHost(socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOST, socket], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    host = child
    const collect = (chunk: Buffer) => {
      hostOutput += chunk.toString()
      if (hostOutput.includes(`listening ${socket}\n`)) resolve()
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      host = undefined
      reject(new Error(`the client host exited (${code ?? signal}) before listening:\n${hostOutput}`))
    })
  })
}

function findChecks(dir: string): Check[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      const found = findChecks(path)
      if (found.length > 0) return found
    } else if (name === 'checks.json') return JSON.parse(readFileSync(path, 'utf8')) as Check[]
  }
  return []
}

/** The result folders under `dir`: `<scenario>-<ISO time>/` holding checks.json and stdout.txt. */
function resultDirs(dir: string, prefix = ''): Map<string, string> {
  const found = new Map<string, string>()
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (!statSync(path).isDirectory()) continue
    const match = /^(.*)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(name)
    if (match && readdirSync(path).includes('checks.json')) found.set(`${prefix}${match[1]}`, path)
    else for (const [scenario, at] of resultDirs(path, `${prefix}${name}/`)) found.set(scenario, at)
  }
  return found
}

/** The adapter's exit code from its last stdout line; null when it did not finish (killed). */
function clientExit(stdout: string): number | null {
  const match = /tau-client: exit (\d+)\s*$/.exec(stdout)
  return match ? Number(match[1]) : null
}

let results: string
let scenarios: string[] = []
const outcomes = new Map<string, Outcome>()

const runnerArgs = (out: string) => [
  RUNNER,
  'client',
  '--command',
  `${process.execPath} ${ADAPTER}`,
  // The runner's limit on the client (a hang limit: at 30 s, clients timed out on a busy machine).
  '--timeout',
  String(HANG_LIMIT_MS),
  '-o',
  out,
]

async function runScenario(scenario: string): Promise<void> {
  const out = join(results, `scenario-${scenarios.indexOf(scenario)}`)
  const { code, output } = await runNode([...runnerArgs(out), '--scenario', scenario])
  let checks: Check[] = []
  try {
    checks = findChecks(out)
  } catch {
    // No results: the runner failed before the scenario ran; its output says why.
  }
  outcomes.set(scenario, { code, checks, output })
}

async function runSuite(suite: string): Promise<void> {
  const out = join(results, `suite-${suite}`)
  const { output } = await runNode([...runnerArgs(out), '--suite', suite])
  let dirs = new Map<string, string>()
  try {
    dirs = resultDirs(out)
  } catch {
    // No results: the runner failed before any scenario ran; the scenarios then run alone.
  }
  for (const [scenario, dir] of dirs) {
    if (!scenarios.includes(scenario) || ALONE.includes(scenario)) continue
    const stdout = readFileSync(join(dir, 'stdout.txt'), 'utf8')
    const stderr = readFileSync(join(dir, 'stderr.txt'), 'utf8')
    const exit = clientExit(stdout)
    outcomes.set(scenario, {
      code: exit !== null && (exit === 0 || CLIENT_MAY_FAIL.includes(scenario)) ? 0 : exit,
      checks: JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8')) as Check[],
      output: `${output.slice(-500)}\n--- client stdout ---\n${stdout}\n--- client stderr ---\n${stderr}`,
    })
  }
}

beforeAll(async () => {
  results = await mkdtemp(join(tmpdir(), 'tau-conformance-'))
  hostSocket = join(results, 'host.sock')
  await startHost(hostSocket)
  const listed = await runNode([RUNNER, 'list'])
  const client = listed.output.split('Client scenarios')[1] ?? ''
  scenarios = [...client.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!)
  for (const scenario of ALONE) if (scenarios.includes(scenario)) await runScenario(scenario)
  await runSuite(SUITE)
  const queue = scenarios.filter((s) => !outcomes.has(s))
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await runScenario(next)
    }),
  )
  // A limit for hangs only: every scenario is a node process, and on a busy two-core machine
  // this took more than seven minutes when each scenario also started its own runner.
}, 900_000)

afterAll(async () => {
  const running = host
  if (running) {
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill()
    await exited
  }
  await rm(results, { recursive: true, force: true })
})

/** What the client host printed itself (its own failures; the clients report through the runner). */
function hostTail(): string {
  return hostOutput.trim() === `listening ${hostSocket}`
    ? ''
    : `\n--- client host ---\n${hostOutput.slice(-800)}`
}

function problems(outcome: Outcome): string[] {
  return outcome.checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => `${c.id} ${c.status}${c.errorMessage ? `: ${c.errorMessage}` : ''}`)
}

describe('MCP conformance suite, client scenarios', () => {
  it('lists the client scenarios of the installed release', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(26)
    expect(scenarios).toContain('initialize')
    expect(scenarios).toContain('auth/scope-step-up')
  })

  it('every scenario passes, except where the SDK lacks the feature', () => {
    const report: string[] = []
    for (const scenario of scenarios) {
      const outcome = outcomes.get(scenario)
      if (!outcome) {
        report.push(`${scenario}: did not run`)
        continue
      }
      const expected = EXPECTED_FAILURES[scenario]
      const failing = problems(outcome)
      if (expected) {
        const ids = outcome.checks
          .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
          .map((c) => c.id)
        if (ids.sort().join() !== [...expected.checks].sort().join())
          report.push(
            `${scenario}: expected to fail on ${expected.checks.join(', ')} only, got ${failing.join('; ') || 'a pass'}`,
          )
      } else if (failing.length > 0 || outcome.code !== 0 || outcome.checks.length === 0) {
        report.push(
          `${scenario}: ${failing.join('; ') || `exit ${outcome.code}`}\n${outcome.output.slice(-1500)}${hostTail()}`,
        )
      }
    }
    expect(report, report.join('\n\n')).toEqual([])
  })
})
