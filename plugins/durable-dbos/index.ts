/**
 * durable-dbos: agent runs as durable workflows on DBOS Transact over PostgreSQL, queued and run by
 * `tau worker` processes on any number of hosts; `tau submit` enqueues, `tau runs` looks at them.
 * Inert until a database is configured (`durable.database` or TAU_DATABASE_URL): its commands then
 * say what to set. The DBOS SDK and `pg` are optional peers, imported only by those commands.
 */
import { cliCommandsRef, definePlugin, defineService, TauError, tauVersion } from '../../kernel/index.js'
import { agentRuntimeRef } from '../agent/index.js'
import { orchestratorRef } from '../orchestrate/index.js'
import { sessionServiceRef, type TranscriptRecord } from '../session/index.js'
import type { DurableClient, RunSummary } from './client.js'
import type { CommandDeps } from './commands.js'
import { type DurableConfig, durableConfig } from './config.js'
import type { TextDelta } from './deltas.js'
import type { EngineOptions } from './engine.js'
import { DURABLE_ERRORS } from './errors.js'

export type { DurableClient, RunSummary } from './client.js'
export { type DurableConfig, durableConfig } from './config.js'
export type { TextDelta } from './deltas.js'
export type { EngineOptions, RunInput, RunOutput } from './engine.js'
export { DURABLE_ERRORS } from './errors.js'
export { AGENT_RUN_STEP, AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW } from './names.js'
export type { Worker } from './worker.js'
export type { WorkflowRunInput, WorkflowRunOutput } from './workflow-steps.js'

/**
 * Durable runs for other frontends (the seam `tau serve` enqueues through instead of running
 * in-process): submit a prompt, look at a run.
 */
export interface DurableRuns {
  /**
   * Enqueues a run; its id. `sessionId` continues that session (a conversation of several runs;
   * default: a new session with the run's id); `runId` chooses the run's id (default `run-<uuid>`).
   */
  submit(
    prompt: string,
    options?: {
      readonly cwd?: string
      readonly model?: string
      readonly sessionId?: string
      readonly runId?: string
    },
  ): Promise<string>
  show(runId: string): Promise<RunSummary>
  wait(runId: string, timeoutMs: number): Promise<RunSummary>
  /** Cancels a run: a queued one never starts, a running one is aborted on its worker. */
  cancel(runId: string): Promise<void>
  /**
   * Follows a session until `signal` aborts: its log's records after `after` (from the store) and
   * its runs' text deltas as workers stream them (PostgreSQL notifications; see deltas.ts), each
   * with a seq above the one before.
   */
  follow(
    sessionId: string,
    options: {
      readonly after?: number
      readonly onRecord: (record: TranscriptRecord) => void
      readonly onDelta: (delta: TextDelta) => void
      readonly signal: AbortSignal
      readonly pollMs?: number
    },
  ): Promise<void>
}

export const durableRunsRef = defineService<DurableRuns>('durable-dbos.runs', {
  description: 'Enqueue agent runs on the durable engine and look at them (when a database is configured).',
})

/**
 * A client of the durable database without a kernel (enqueue, list, show, cancel, wait: what
 * `tau submit` and `tau runs` use). The client module is imported by this call, not before.
 */
export async function createDurableClient(options: EngineOptions): Promise<DurableClient> {
  const { DurableClient } = await import('./client.js')
  return new DurableClient(options)
}

/** durable.database, else TAU_DATABASE_URL of the kernel's env (an embedder's own, or process.env). */
function databaseOf(config: DurableConfig, env: NodeJS.ProcessEnv): string | undefined {
  return config.database ?? (env.TAU_DATABASE_URL || undefined)
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
    const url = databaseOf(ctx.config, ctx.env)
    const applicationVersion = ctx.config.applicationVersion ?? `tau-${tauVersion()}`
    const options = (): EngineOptions => {
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
    // The engine is imported when a durable command or the runs service is first used, never at
    // start: a tau that runs no durable command does not load (or parse) it.
    // Without a database a command fails first, before any of the engine is loaded.
    const lazy = () => {
      options()
      return import('./commands.js')
    }
    let client: Promise<DurableClient> | undefined
    const clientOf = () => {
      client ??= import('./client.js').then(({ DurableClient }) => new DurableClient(options()))
      return client
    }
    if (url) {
      ctx.provide(durableRunsRef, {
        submit: async (prompt, o = {}) => (await clientOf()).submit({ prompt, ...o }),
        show: async (runId) => (await clientOf()).show(runId),
        wait: async (runId, timeoutMs) => (await clientOf()).wait(runId, timeoutMs),
        cancel: async (runId) => (await clientOf()).cancel(runId),
        follow: async (sessionId, o) => {
          const { followSession } = await import('./deltas.js')
          await followSession(sessionId, { ...o, url, store: ctx.resolve(sessionServiceRef).store })
        },
      })
    }
    const deps: CommandDeps = {
      options,
      sessions: () => ctx.resolve(sessionServiceRef),
      runtime: () => ctx.resolve(agentRuntimeRef),
      orchestrator: () => ctx.tryResolve(orchestratorRef),
      leaseTtlMs: (ctx.rootConfig['session-postgres'] as { leaseTtlMs?: number } | undefined)?.leaseTtlMs,
      cwd: ctx.paths.cwd,
      logger: ctx.logger,
    }

    ctx.provide(cliCommandsRef, {
      name: 'worker',
      description:
        'join the durable queue and run agent runs until stopped (SIGTERM/SIGINT: finish or hand back the runs)',
      options: [
        { flags: '--grace-ms <ms>', description: 'how long a stop waits for running runs (default 30000)' },
      ],
      needs: 'start',
      // The kernel stops after the grace period, not at the signal (that would abort the runs).
      stopsOnSignal: true,
      run: async (invocation) => (await lazy()).worker(deps, invocation),
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
      run: async (invocation) => (await lazy()).submit(deps, invocation),
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs list',
      description: 'list the durable runs, newest first (id, status, worker, prompt)',
      options: [{ flags: '--json', description: 'print JSON' }],
      run: async (invocation) => (await lazy()).runsList(deps, invocation),
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs show',
      description: 'show a durable run: status, worker, steps, answer',
      arguments: [{ name: '<id>' }],
      run: async (invocation) => (await lazy()).runsShow(deps, invocation),
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs cancel',
      description:
        'cancel a durable run (a running one is aborted within about a second; a queued one never starts)',
      arguments: [{ name: '<id>' }],
      run: async (invocation) => (await lazy()).runsCancel(deps, invocation),
    })

    ctx.provide(cliCommandsRef, {
      name: 'runs logs',
      description: "print a durable run's log records (one JSON line each) from the session store",
      arguments: [{ name: '<id>' }],
      options: [{ flags: '-f, --follow', description: 'keep printing new records until the run ends' }],
      run: async (invocation) => (await lazy()).runsLogs(deps, invocation),
    })

    return async () => {
      await (await client?.catch(() => undefined))?.close()
    }
  },
})
