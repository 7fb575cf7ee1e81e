/** `tau workflow run|resume|list|show`. */
import { type CliCommand, TauError } from '../../kernel/index.js'
import type { WorkflowRun } from './engine.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import type { WorkflowRecord, WorkflowRunSummary } from './log.js'
import type { Orchestrator } from './service.js'
import type { WorkflowEvent } from './workflow.js'

const OUTPUT = {
  flags: '--output-format <format>',
  description:
    'text (the output on stdout, steps on stderr), json (one object at the end), stream-json (every event, one JSON a line)',
  default: 'text',
}

export function workflowCommands(orchestrator: () => Orchestrator): CliCommand[] {
  return [
    {
      name: 'workflow run',
      description: 'run a workflow (from tau.config.ts or .tau/workflows/); the output goes to stdout',
      arguments: [{ name: '<name>', description: 'the workflow' }],
      options: [{ flags: '--input <json>', description: "the workflow's input, as JSON" }, OUTPUT],
      needs: 'start',
      async run({ args, options, stdout, stderr, signal }) {
        const input = parseInput(options.input)
        const run = await orchestrator().run(String(args[0]), input, { signal })
        return follow(run, String(options.outputFormat ?? 'text'), stdout, stderr)
      },
    },
    {
      name: 'workflow resume',
      description:
        'go on with a workflow run from its last completed step (after a kill, a crash or a failure)',
      arguments: [{ name: '<id>', description: 'the run id (tau workflow list)' }],
      options: [OUTPUT],
      needs: 'start',
      async run({ args, options, stdout, stderr, signal }) {
        const run = await orchestrator().resume(String(args[0]), { signal })
        return follow(run, String(options.outputFormat ?? 'text'), stdout, stderr)
      },
    },
    {
      name: 'workflow list',
      description: 'the workflows tau finds and the runs of this project, newest first',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options, stdout, stderr }) {
        const catalog = await orchestrator().catalog()
        const runs = await orchestrator().runs()
        for (const problem of catalog.problems)
          stderr.write(`tau: warning: ${problem.file}: ${problem.message}\n`)
        if (options.json) {
          const workflows = catalog.workflows.map((w) => ({
            name: w.workflow.name,
            description: w.workflow.description ?? '',
            source: w.source,
          }))
          stdout.write(`${JSON.stringify({ workflows, runs }, null, 2)}\n`)
          return 0
        }
        stdout.write(
          catalog.workflows.length === 0
            ? 'No workflows defined (orchestrate.workflows in tau.config.ts, or .tau/workflows/*.ts).\n'
            : `${catalog.workflows.map((w) => `${w.workflow.name}${w.workflow.description ? `  ${w.workflow.description}` : ''}`).join('\n')}\n`,
        )
        if (runs.length > 0) stdout.write(`\n${formatRuns(runs)}`)
        return 0
      },
    },
    {
      name: 'workflow show',
      description: "a workflow run's steps: status, output, the sessions they ran",
      arguments: [{ name: '<id>', description: 'the run id' }],
      options: [{ flags: '--json', description: 'print the log records as JSON' }],
      async run({ args, options, stdout }) {
        const records = await orchestrator().read(String(args[0]))
        if (options.json) {
          stdout.write(`${JSON.stringify(records, null, 2)}\n`)
          return 0
        }
        stdout.write(formatRun(records))
        return 0
      },
    },
  ]
}

function parseInput(raw: unknown): unknown {
  if (raw === undefined) return undefined
  try {
    return JSON.parse(String(raw))
  } catch (error) {
    throw new TauError(
      ORCHESTRATE_ERRORS.TAU_WORKFLOW_INPUT_INVALID,
      `--input is not valid JSON: ${(error as Error).message}`,
      {
        plugin: 'orchestrate',
      },
    )
  }
}

async function follow(
  run: WorkflowRun,
  format: string,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  if (!['text', 'json', 'stream-json'].includes(format)) {
    throw new TauError(
      ORCHESTRATE_ERRORS.TAU_WORKFLOW_INPUT_INVALID,
      `--output-format '${format}' is not text, json or stream-json`,
      {
        plugin: 'orchestrate',
      },
    )
  }
  if (format !== 'stream-json') stderr.write(`workflow run ${run.id}\n`)
  for await (const event of run) {
    if (format === 'stream-json') stdout.write(`${JSON.stringify(event)}\n`)
    else if (format === 'text') progress(event, stderr)
  }
  const outcome = await run.done
  if (format === 'json') stdout.write(`${JSON.stringify(outcome, null, 2)}\n`)
  if (outcome.isError) {
    if (format !== 'stream-json') {
      stderr.write(
        `tau: ${outcome.error?.code}: ${outcome.error?.message}\n  Go on from the last completed step: tau workflow resume ${run.id}\n`,
      )
    }
    return 1
  }
  if (format === 'text') {
    const output = outcome.output
    stdout.write(`${typeof output === 'string' ? output : JSON.stringify(output, null, 2)}\n`)
  }
  return 0
}

function progress(event: WorkflowEvent, stderr: NodeJS.WritableStream): void {
  if (event.type === 'step-end' && 'kind' in event) {
    const mark = event.error ? 'failed' : event.replayed ? 'done (from the log)' : 'done'
    stderr.write(`  ${event.step} (${event.kind}) ${mark}${event.error ? `: ${event.error.message}` : ''}\n`)
  } else if (event.type === 'workflow-notification') stderr.write(`  ${event.step}: ${event.message}\n`)
}

export function formatRuns(runs: readonly WorkflowRunSummary[]): string {
  const rows = runs.map((r) => [
    r.runId,
    new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19),
    r.status,
    String(r.steps),
    r.workflow,
  ])
  const header = ['RUN', 'STARTED', 'STATUS', 'STEPS', 'WORKFLOW']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}

export function formatRun(records: readonly WorkflowRecord[]): string {
  const start = records[0]
  const lines: string[] = []
  if (start?.type === 'start')
    lines.push(`${start.workflow} run ${start.runId}`, `input: ${JSON.stringify(start.input)}`)
  const status = new Map<string, { kind: string; state: string; sessions: string[] }>()
  for (const record of records) {
    if (record.type === 'step-start')
      status.set(record.step, { kind: record.kind, state: 'running', sessions: [] })
    else if (record.type === 'step-session') status.get(record.step)?.sessions.push(record.sessionId)
    else if (record.type === 'step-end') {
      const entry = status.get(record.step)
      if (entry) entry.state = `done: ${preview(record.outcome.output)}`
    } else if (record.type === 'step-failed') {
      const entry = status.get(record.step)
      if (entry) entry.state = `failed: ${record.error.message}`
    }
  }
  for (const [step, entry] of status) {
    lines.push(
      `  ${step} (${entry.kind}) ${entry.state}${entry.sessions.length > 0 ? `  sessions: ${entry.sessions.join(', ')}` : ''}`,
    )
  }
  const last = records.at(-1)
  lines.push(
    last?.type === 'end'
      ? `${last.status}${last.error ? `: ${last.error.message}` : ''}`
      : 'interrupted (tau workflow resume goes on)',
  )
  return `${lines.join('\n')}\n`
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  const line = (text ?? '').replace(/\s+/g, ' ')
  return line.length > 80 ? `${line.slice(0, 77)}...` : line
}
