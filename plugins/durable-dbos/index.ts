/**
 * durable-dbos: agent runs as durable workflows on DBOS Transact over PostgreSQL, queued and run by
 * `tau worker` processes on any number of hosts; `tau submit` enqueues, `tau runs` looks at them.
 * Inert until a database is configured (`durable.database` or TAU_DATABASE_URL): its commands then
 * say what to set. The DBOS SDK and `pg` are optional peers, imported only by those commands.
 */
import {
  cliCommandsRef,
  definePlugin,
  defineService,
  type Logger,
  TauError,
  tauVersion,
} from '../../kernel/index.js'
import { agentRuntimeRef } from '../agent/index.js'
import { ORCHESTRATE_ERRORS, orchestratorRef } from '../orchestrate/index.js'
import { sessionServiceRef, type TranscriptRecord } from '../session/index.js'
import { POSTGRES_LEASE_TTL_MS } from '../session-postgres/index.js'
import { type DurableConfig, durableConfig } from './config.js'
import { DurableClient, type RunSummary, startWorker } from './engine.js'
import { DURABLE_ERRORS } from './errors.js'
import { runDurably } from './runner.js'
import { DurableWorkflows } from './workflow-steps.js'

export { type DurableConfig, durableConfig } from './config.js'
export {
  AGENT_RUN_STEP,
  AGENT_RUN_WORKFLOW,
  DurableClient,
  type RunInput,
  type RunOutput,
  type RunSummary,
  WORKFLOW_RUN_WORKFLOW,
  type Worker,
} from './engine.js'
export { DURABLE_ERRORS } from './errors.js'
export type { WorkflowRunInput, WorkflowRunOutput } from './workflow-steps.js'

/**
 * Durable runs for other frontends (the seam `tau serve` enqueues through instead of running
 * in-process): submit a prompt, look at a run.
 */
export interface DurableRuns {
  submit(prompt: string, options?: { readonly cwd?: string; readonly model?: string }): Promise<string>
  show(runId: string): Promise<RunSummary>
  wait(runId: string, timeoutMs: number): Promise<RunSummary>
}

export const durableRunsRef = defineService<DurableRuns>('durable-dbos.runs', {
  description: 'Enqueue agent runs on the durable engine and look at them (when a database is configured).',
})

function databaseOf(config: DurableConfig): string | undefined {
  return config.database ?? (process.env.TAU_DATABASE_URL || undefined)
}

export default definePlugin({
  name: 'durable-dbos',
  description: 'Durable agent runs on DBOS Transact over PostgreSQL: tau worker, tau submit, tau runs',
  configKey: 'durable',
  dependsOn: ['agent', 'session'],
  // A worker runs `tau submit --workflow` runs when the orchestrate plugin is loaded.
  optionalDependsOn: ['orchestrate'],
  config: durableConfig,
  setup(ctx) {
    const url = databaseOf(ctx.config)
    const applicationVersion = ctx.config.applicationVersion ?? `tau-${tauVersion()}`
    const options = (): {
      url: string
      config: DurableConfig
      applicationVersion: string
      logger: Logger
    } => {
      if (!url) {
        throw new TauError(
          DURABLE_ERRORS.TAU_DURABLE_NOT_CONFIGURED,
          'durable.database and TAU_DATABASE_URL are both unset',
          {
            plugin: 'durable-dbos',
          },
        )
      }
      return { url, config: ctx.config, applicationVersion, logger: ctx.logger }
    }
    let client: DurableClient | undefined
    const clientOf = () => {
      client ??= new DurableClient(options())
      return client
    }
    /** A command's client: made for it, closed after it (a CLI command is one connection's life). */
    const withClient = async <T>(fn: (c: DurableClient) => Promise<T>): Promise<T> => {
      const c = clientOf()
      try {
        return await fn(c)
      } finally {
        await c.close()
        client = undefined
      }
    }

    if (url) {
      ctx.provide(durableRunsRef, {
        submit: (prompt, o = {}) => clientOf().submit({ prompt, ...o }),
        show: (runId) => clientOf().show(runId),
        wait: (runId, timeoutMs) => clientOf().wait(runId, timeoutMs),
      })
    }

    const print = (stream: NodeJS.WritableStream, text: string) => stream.write(`${text}\n`)

    ctx.provide(cliCommandsRef, {
      name: 'worker',
      description:
        'join the durable queue and run agent runs until stopped (SIGTERM/SIGINT: finish or hand back the runs)',
      options: [
        { flags: '--grace-ms <ms>', description: 'how long a stop waits for running runs (default 30000)' },
      ],
      needs: 'start',
      async run({ options: flags, stderr, signal }) {
        const opts = options()
        const sessions = ctx.resolve(sessionServiceRef)
        if (sessions.store.kind !== 'postgres') {
          throw new TauError(
            DURABLE_ERRORS.TAU_DURABLE_NOT_CONFIGURED,
            `the session store is '${sessions.store.kind}', not PostgreSQL: load the session-postgres plugin so every worker reads the same logs`,
            { plugin: 'durable-dbos' },
          )
        }
        const runtime = ctx.resolve(agentRuntimeRef)
        const leaseTtl = (ctx.rootConfig['session-postgres'] as { leaseTtlMs?: number } | undefined)
          ?.leaseTtlMs
        const leaseWaitMs = 2 * (leaseTtl ?? POSTGRES_LEASE_TTL_MS) + 10_000
        const orchestrator = ctx.tryResolve(orchestratorRef)
        const worker = await startWorker(
          opts,
          (input, context) =>
            runDurably({ runtime, sessions, cwd: ctx.paths.cwd, leaseWaitMs }, input, context),
          orchestrator
            ? ({ dbos, db }) =>
                new DurableWorkflows({
                  orchestrator,
                  store: sessions.store,
                  leaseWaitMs,
                  logger: ctx.logger,
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
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'submit',
      description: 'enqueue a prompt as a durable agent run, or a workflow (--workflow); prints the run id',
      arguments: [{ name: '[prompt]', description: 'the prompt (not with --workflow)' }],
      options: [
        {
          flags: '--workflow <name>',
          description:
            'enqueue a run of this workflow (tau.config or .tau/workflows/ of the workers) instead',
        },
        { flags: '--input <json>', description: "the workflow's input, as JSON (with --workflow)" },
        { flags: '--model <model>', description: 'provider:model for the run (default: the worker’s)' },
        {
          flags: '--workdir <dir>',
          description: 'working directory of the run on the worker (default: the worker’s)',
        },
        { flags: '--wait', description: 'wait for the run to end and print its answer' },
      ],
      async run({ args, options: flags, stdout }) {
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
        return withClient(async (c) => {
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
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs list',
      description: 'list the durable runs, newest first (id, status, worker, prompt)',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options: flags, stdout }) {
        return withClient(async (c) => {
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
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs show',
      description: 'show a durable run: status, worker, steps, answer',
      arguments: [{ name: '<id>' }],
      async run({ args, stdout }) {
        return withClient(async (c) => {
          print(stdout, JSON.stringify(await c.show(String(args[0])), null, 2))
          return 0
        })
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs cancel',
      description:
        'cancel a durable run (a running one is aborted within about a second; a queued one never starts)',
      arguments: [{ name: '<id>' }],
      async run({ args, stdout }) {
        return withClient(async (c) => {
          await c.cancel(String(args[0]))
          print(stdout, `cancelled ${String(args[0])}`)
          return 0
        })
      },
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs logs',
      description: "print a durable run's log records (one JSON line each) from the session store",
      arguments: [{ name: '<id>' }],
      options: [{ flags: '-f, --follow', description: 'keep printing new records until the run ends' }],
      async run({ args, options: flags, stdout, signal }) {
        options()
        const store = ctx.resolve(sessionServiceRef).store
        const id = String(args[0])
        let printed = 0
        const ended = (records: readonly TranscriptRecord[]) => records.some((r) => r.type === 'run-end')
        for (;;) {
          const records = (await store.exists(id)) ? (await store.read(id)).records : []
          for (const record of records.slice(printed)) print(stdout, JSON.stringify(record))
          printed = records.length
          if (!flags.follow || ended(records) || signal.aborted) break
          await new Promise((resolve) => setTimeout(resolve, 500))
        }
        if (printed === 0 && !flags.follow) {
          throw new TauError(DURABLE_ERRORS.TAU_DURABLE_RUN_NOT_FOUND, `run ${id} has no log records yet`, {
            plugin: 'durable-dbos',
          })
        }
        return 0
      },
    })

    return async () => {
      await client?.close()
    }
  },
})
