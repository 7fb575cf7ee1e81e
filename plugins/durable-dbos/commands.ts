/**
 * The durable commands' work (`tau worker`, `tau submit`, `tau runs …`), imported by the plugin
 * only when one of them runs: the engine (DBOS, pg, the runners) is never loaded by a tau that
 * does not run a durable command, and stays out of the start-up path of the bin bundle.
 */
import { type CliCommandContext, type Logger, TauError } from '../../kernel/index.js'
import type { AgentRuntime } from '../agent/index.js'
import { ORCHESTRATE_ERRORS, type Orchestrator } from '../orchestrate/index.js'
import type { SessionService, TranscriptRecord } from '../session/index.js'
import { POSTGRES_LEASE_TTL_MS } from '../session-postgres/index.js'
import { DurableClient } from './client.js'
import { followSession } from './deltas.js'
import type { EngineOptions } from './engine.js'
import { DURABLE_ERRORS } from './errors.js'
import { databaseFailure } from './failures.js'
import { runDurably } from './runner.js'
import { startWorker } from './worker.js'
import { DurableWorkflows } from './workflow-steps.js'

/** What the commands need of the plugin's context. */
export interface CommandDeps {
  /** The engine's options; throws TAU_DURABLE_NOT_CONFIGURED without a database. */
  readonly options: () => EngineOptions
  readonly sessions: () => SessionService
  readonly runtime: () => AgentRuntime
  readonly orchestrator: () => Orchestrator | undefined
  /** session-postgres's `leaseTtlMs`, when configured. */
  readonly leaseTtlMs: number | undefined
  readonly cwd: string
  readonly logger: Logger
}

const print = (stream: NodeJS.WritableStream, text: string) => stream.write(`${text}\n`)

/** A command's client: made for it, closed after it (a CLI command is one connection's life). */
async function withClient<T>(d: CommandDeps, fn: (c: DurableClient) => Promise<T>): Promise<T> {
  const c = new DurableClient(d.options())
  try {
    return await fn(c)
  } finally {
    await c.close()
  }
}

export async function worker(
  d: CommandDeps,
  { options: flags, stderr, signal }: CliCommandContext,
): Promise<number> {
  const opts = d.options()
  const sessions = d.sessions()
  if (sessions.store.kind !== 'postgres') {
    throw new TauError(
      DURABLE_ERRORS.TAU_DURABLE_NOT_CONFIGURED,
      `the session store is '${sessions.store.kind}', not PostgreSQL: load the session-postgres plugin so every worker reads the same logs`,
      { plugin: 'durable-dbos' },
    )
  }
  const runtime = d.runtime()
  const leaseTtl = d.leaseTtlMs
  const leaseWaitMs = 2 * (leaseTtl ?? POSTGRES_LEASE_TTL_MS) + 10_000
  const orchestrator = d.orchestrator()
  const worker = await startWorker(
    opts,
    (input, context) => runDurably({ runtime, sessions, cwd: d.cwd, leaseWaitMs }, input, context),
    orchestrator
      ? ({ dbos, db }) =>
          new DurableWorkflows({
            orchestrator,
            store: sessions.store,
            leaseWaitMs,
            logger: d.logger,
            dbos,
            db,
          })
      : undefined,
  )
  print(
    stderr,
    `tau: worker ${worker.executorId} is running (queue ${opts.config.queue}, version ${opts.applicationVersion})`,
  )
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
  const grace = Number(flags.graceMs ?? 30_000)
  print(stderr, `tau: worker stopping; waiting up to ${grace} ms for ${worker.active()} running run(s)`)
  const { handedBack } = await worker.stop(Number.isFinite(grace) ? grace : 30_000)
  if (handedBack > 0) print(stderr, `tau: ${handedBack} run(s) handed back to the queue`)
  return 0
}

export async function submit(
  d: CommandDeps,
  { args, options: flags, stdout }: CliCommandContext,
): Promise<number> {
  const workflow = typeof flags.workflow === 'string' ? flags.workflow : undefined
  const prompt = typeof args[0] === 'string' ? args[0] : undefined
  if ((workflow === undefined) === (prompt === undefined)) {
    throw new TauError(
      'TAU_CLI_USAGE',
      workflow
        ? 'tau submit takes a prompt or --workflow, not both'
        : 'tau submit needs a prompt or --workflow NAME',
      { plugin: 'durable-dbos' },
    )
  }
  let input: unknown
  if (typeof flags.input === 'string') {
    try {
      input = JSON.parse(flags.input)
    } catch (error) {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_INPUT_INVALID,
        `--input is not valid JSON: ${(error as Error).message}`,
        { plugin: 'durable-dbos' },
      )
    }
  }
  return withClient(d, async (c) => {
    if (workflow !== undefined) {
      const runId = await c.submitWorkflow(workflow, input)
      print(stdout, runId)
      if (!flags.wait) return 0
      const run = await c.wait(runId, 24 * 3600_000)
      const result = run.result
      if (result && !result.isError)
        print(stdout, typeof result.output === 'string' ? result.output : JSON.stringify(result.output))
      return run.status === 'SUCCESS' && result && !result.isError ? 0 : 1
    }
    const runId = await c.submit({
      prompt: String(prompt),
      ...(typeof flags.model === 'string' ? { model: flags.model } : {}),
      ...(typeof flags.workdir === 'string' ? { cwd: flags.workdir } : {}),
    })
    print(stdout, runId)
    if (flags.wait) {
      const run = await c.wait(runId, 24 * 3600_000)
      if (run.output) print(stdout, run.output.text)
      return run.status === 'SUCCESS' && !run.output?.isError ? 0 : 1
    }
    return 0
  })
}

export async function runsList(
  d: CommandDeps,
  { options: flags, stdout }: CliCommandContext,
): Promise<number> {
  return withClient(d, async (c) => {
    const runs = await c.list()
    if (flags.json) print(stdout, JSON.stringify(runs, null, 2))
    else if (runs.length === 0) print(stdout, 'No durable runs yet.')
    else
      for (const r of runs)
        print(
          stdout,
          [
            r.runId,
            r.status,
            r.executor ?? '-',
            r.workflow ? `workflow ${r.workflow}` : r.prompt.split('\n')[0]!.slice(0, 60),
          ].join('  '),
        )
    return 0
  })
}

export async function runsShow(d: CommandDeps, { args, stdout }: CliCommandContext): Promise<number> {
  return withClient(d, async (c) => {
    print(stdout, JSON.stringify(await c.show(String(args[0])), null, 2))
    return 0
  })
}

export async function runsCancel(d: CommandDeps, { args, stdout }: CliCommandContext): Promise<number> {
  return withClient(d, async (c) => {
    await c.cancel(String(args[0]))
    print(stdout, `cancelled ${String(args[0])}`)
    return 0
  })
}

export async function runsLogs(
  d: CommandDeps,
  { args, options: flags, stdout, signal }: CliCommandContext,
): Promise<number> {
  const { url } = d.options()
  const store = d.sessions().store
  const id = String(args[0])
  if (flags.follow) {
    // The records as they are stored, and the run's text deltas (one JSON line each,
    // `"type":"text-delta"`) as the worker streams them, until the run's end.
    const chain = new Set<string>()
    try {
      await followSession(id, {
        url,
        store,
        signal,
        onRecord: (record) => print(stdout, JSON.stringify(record)),
        onDelta: (delta) => print(stdout, JSON.stringify(delta)),
        until: (record) => {
          if (record.type === 'run-start' && (record.runId === id || chain.has(record.resumes ?? '')))
            chain.add(record.runId)
          // The end of this run (its agent run has its id), or of any run in a log of another tau.
          return record.type === 'run-end' && (chain.size === 0 || chain.has(record.runId))
        },
      })
    } catch (error) {
      throw databaseFailure(url, error)
    }
    return 0
  }
  // The log is read through the session store; a database it cannot use reads as the other
  // durable commands' errors (what to fix in durable.database), not as the store's own.
  let records: readonly TranscriptRecord[]
  try {
    records = (await store.exists(id)) ? (await store.read(id)).records : []
  } catch (error) {
    throw databaseFailure(url, error)
  }
  for (const record of records) print(stdout, JSON.stringify(record))
  const printed = records.length
  if (printed === 0) {
    throw new TauError(DURABLE_ERRORS.TAU_DURABLE_RUN_NOT_FOUND, `run ${id} has no log records yet`, {
      plugin: 'durable-dbos',
    })
  }
  return 0
}
