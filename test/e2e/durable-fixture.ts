/**
 * What the durable end-to-end files share: a `tau worker` child of the real binary, a durable
 * config for a test cluster, a client of the same database, and a poll with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createDurableClient, type DurableClient, durableConfig } from '../../plugins/durable-dbos/index.js'
import { cleanEnv, type Project, TAU_BIN } from './run-tau.js'

export interface WorkerProcess {
  readonly child: ChildProcess
  /** Its stdout and stderr so far. */
  output(): string
  /** True while the process runs. */
  alive(): boolean
}

/**
 * Starts `tau worker` in `cwd` (inside `netns` when given). With TAU_TEST_WORKER_IMPORT set (a
 * measurement, never in CI: bench/event-loop-stalls.mjs), the worker's node preloads that file.
 */
export function startWorkerProcess(
  cwd: string,
  env: Record<string, string>,
  options: { readonly netns?: string; readonly args?: readonly string[] } = {},
): WorkerProcess {
  const argv = [
    ...(options.netns ? ['ip', 'netns', 'exec', options.netns] : []),
    process.execPath,
    ...(process.env.TAU_TEST_WORKER_IMPORT ? ['--import', process.env.TAU_TEST_WORKER_IMPORT] : []),
    TAU_BIN,
    'worker',
    ...(options.args ?? []),
  ]
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d
  })
  return {
    child,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
  }
}

/** The `durable` and `session-postgres` config slices of a test project. */
export function durableTestConfig(database: string, applicationVersion: string): Record<string, unknown> {
  return {
    durable: {
      database,
      workerConcurrency: 2,
      workerTtlMs: 3000,
      pollIntervalMs: 200,
      applicationVersion,
    },
    'session-postgres': { leaseTtlMs: 3000 },
  }
}

/**
 * The tau.config.json of a durable test project: the scripted OpenAI model, Bash allowed, the
 * `extra` keys (orchestrate's agents, say), and the durable slices of {@link durableTestConfig}.
 */
export function durableProjectConfig(
  database: string,
  applicationVersion: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    model: 'openai:scripted-model',
    permissions: { allow: ['Bash'] },
    ...extra,
    ...durableTestConfig(database, applicationVersion),
  })
}

/** The env of a worker or client process of project `p`, its model the scripted server at `modelUrl`. */
export function scriptedModelEnv(
  p: Pick<Project, 'tauHome' | 'home'>,
  modelUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return cleanEnv(p.tauHome, p.home, {
    OPENAI_BASE_URL: `${modelUrl}/v1`,
    OPENAI_API_KEY: 'test-key',
    ...extra,
  })
}

/** A client of the test's database (what `tau submit` and `tau runs` use), logging nothing. */
export function testClient(database: string, applicationVersion: string): Promise<DurableClient> {
  return createDurableClient({
    url: database,
    config: durableConfig.parse({ database }),
    applicationVersion,
    logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
  })
}

/** Polls `check` until it gives a value; throws with `output()` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  output: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** True while a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A `sleep` a tool runs, told apart from every other process by its length (a sandbox's pids are
 * its own, so it is found by its command line): `seconds` for the command, `running()` the pids of
 * such sleeps alive now.
 */
export function uniqueSleep(): { readonly seconds: string; running(): number[] } {
  const seconds = String(300_000 + randomBytes(2).readUInt16BE(0))
  const running = (): number[] =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${seconds}\0`
        } catch {
          return false
        }
      })
      .map(Number)
  return { seconds, running }
}
