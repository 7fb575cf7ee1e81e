/** The client side of the durable engine: enqueue, list, show, cancel and wait for runs; no worker needed. */
import { randomUUID } from 'node:crypto'
import { TauError } from '../../kernel/index.js'
import {
  type DbosModule,
  dbosDatabaseUrl,
  dbosLogger,
  type EngineOptions,
  loadDbos,
  migrateDbos,
  RUN_WORKFLOWS,
  type RunInput,
  type RunOutput,
} from './engine.js'
import { DURABLE_ERRORS } from './errors.js'
import { checkDatabaseUrl, databaseFailure } from './failures.js'
import { AGENT_RUN_WORKFLOW, WORKFLOW_RUN_WORKFLOW } from './names.js'
import type { WorkflowRunInput, WorkflowRunOutput } from './workflow-steps.js'

type DbosClientInstance = Awaited<ReturnType<DbosModule['DBOSClient']['create']>>

/** One line of `tau runs list`. */
export interface RunSummary {
  readonly runId: string
  readonly status: string
  readonly prompt: string
  /** Set for a workflow run (`tau submit --workflow`): its name. */
  readonly workflow?: string
  readonly executor?: string
  readonly applicationVersion?: string
  readonly createdAt: string
  readonly updatedAt?: string
  readonly output?: RunOutput
  /** A workflow run's outcome (instead of `output`). */
  readonly result?: WorkflowRunOutput
  readonly error?: string
}

/** Client side: enqueue, list, show, cancel (`tau submit`, `tau runs`); no worker needed. */
export class DurableClient {
  private client: Promise<DbosClientInstance> | undefined

  constructor(private readonly options: EngineOptions) {}

  private get(): Promise<DbosClientInstance> {
    // The system tables may not exist yet (no worker has started): create them first.
    this.client ??= loadDbos()
      .then(async ({ DBOS, DBOSClient }) => {
        checkDatabaseUrl(this.options.url)
        await migrateDbos(DBOS, this.options.url, this.options.logger)
        return DBOSClient.create({
          systemDatabaseUrl: dbosDatabaseUrl(this.options.url),
          applicationName: 'tau',
          logger: dbosLogger(this.options.logger),
          systemDatabasePoolSize: 3,
        })
      })
      .catch((error: unknown) => {
        throw databaseFailure(this.options.url, error)
      })
    this.client.catch(() => {
      this.client = undefined
    })
    return this.client
  }

  /** Enqueues a run pinned to this application version; returns its id. */
  async submit(
    input: Omit<RunInput, 'runId' | 'submittedAt'> & { readonly runId?: string },
  ): Promise<string> {
    const client = await this.get()
    const runId = input.runId ?? `run-${randomUUID()}`
    const full: RunInput = { ...input, runId, submittedAt: new Date().toISOString() }
    await client.enqueue(
      {
        queueName: this.options.config.queue,
        workflowName: AGENT_RUN_WORKFLOW,
        workflowID: runId,
        appVersion: this.options.applicationVersion,
      },
      full,
    )
    return runId
  }

  /** Enqueues a run of the workflow `workflow` (by name, from the workers' catalog); returns its id. */
  async submitWorkflow(workflow: string, input: unknown, runId = `run-${randomUUID()}`): Promise<string> {
    const client = await this.get()
    const full: WorkflowRunInput = {
      runId,
      workflow,
      ...(input === undefined ? {} : { input }),
      submittedAt: new Date().toISOString(),
    }
    await client.enqueue(
      {
        queueName: this.options.config.queue,
        workflowName: WORKFLOW_RUN_WORKFLOW,
        workflowID: runId,
        appVersion: this.options.applicationVersion,
      },
      full,
    )
    return runId
  }

  async list(limit = 100): Promise<RunSummary[]> {
    const client = await this.get()
    const rows = await client.listWorkflows({
      workflowName: RUN_WORKFLOWS,
      sortDesc: true,
      limit,
      loadInput: true,
      loadOutput: true,
    })
    return rows.map(summaryOf)
  }

  async show(runId: string): Promise<RunSummary & { steps: Array<{ name: string; done: boolean }> }> {
    const client = await this.get()
    const status = await client.getWorkflow(runId)
    if (!status) {
      throw new TauError(DURABLE_ERRORS.TAU_DURABLE_RUN_NOT_FOUND, `no durable run ${runId}`, {
        plugin: 'durable-dbos',
      })
    }
    const steps = (await client.listWorkflowSteps(runId)) ?? []
    return {
      ...summaryOf(status),
      steps: steps.map((step: { name: string; output: unknown; error: Error | null }) => ({
        name: step.name,
        done: step.output !== undefined || step.error !== null,
      })),
    }
  }

  async cancel(runId: string): Promise<void> {
    await this.show(runId)
    const client = await this.get()
    await client.cancelWorkflow(runId)
  }

  /** Waits for a run's end (polling); its output. */
  async wait(runId: string, timeoutMs: number): Promise<RunSummary> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const run = await this.show(runId)
      if (run.status === 'SUCCESS' || run.status === 'ERROR' || run.status === 'CANCELLED') return run
      if (Date.now() > deadline) return run
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }

  async close(): Promise<void> {
    const client = this.client
    this.client = undefined
    await (await client?.catch(() => undefined))?.destroy()
  }
}

function summaryOf(status: {
  workflowID: string
  status: string
  input?: unknown[]
  output?: unknown
  error?: unknown
  executorId?: string
  applicationVersion?: string
  createdAt: number
  updatedAt?: number
}): RunSummary {
  const input = status.input?.[0] as Partial<RunInput & WorkflowRunInput> | undefined
  return {
    runId: status.workflowID,
    status: status.status,
    prompt: typeof input?.prompt === 'string' ? input.prompt : '',
    ...(typeof input?.workflow === 'string' ? { workflow: input.workflow } : {}),
    ...(status.executorId ? { executor: status.executorId } : {}),
    ...(status.applicationVersion ? { applicationVersion: status.applicationVersion } : {}),
    createdAt: new Date(status.createdAt).toISOString(),
    ...(status.updatedAt ? { updatedAt: new Date(status.updatedAt).toISOString() } : {}),
    ...(status.output && typeof status.output === 'object'
      ? typeof input?.workflow === 'string'
        ? { result: status.output as WorkflowRunOutput }
        : { output: status.output as RunOutput }
      : {}),
    ...(status.error
      ? { error: status.error instanceof Error ? status.error.message : String(status.error) }
      : {}),
  }
}
