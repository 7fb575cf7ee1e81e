/**
 * `tau serve` in enqueue mode (`serve.mode: 'enqueue'`): the server runs no agent. A prompt is
 * enqueued as a durable run (plugins/durable-dbos) that continues the HTTP session, and a `tau
 * worker` on any host runs it; the SSE stream is the session's log read from the shared
 * PostgreSQL store (ids are seqs, so Last-Event-ID resumes exactly as in process). What needs the
 * agent in this process — slash commands, permission modes, questions, per-session servers and
 * sandbox — is refused by name: a worker runs headless, so its config's permission mode decides
 * each ask (nobody is asked).
 */
import { randomUUID } from 'node:crypto'
import { type Logger, TauError, textOf } from '../../kernel/index.js'
import type { DurableRuns } from '../durable-dbos/index.js'
import type { SessionService, TranscriptRecord } from '../session/index.js'
import { SERVE_ENQUEUE_ERRORS, SERVE_ERRORS } from './errors.js'
import { type CreateOptions, interruptedIn, type SessionHub, type SessionView, storedView } from './hub.js'
import { type Position, START, type StreamItem } from './stream-buffer.js'

// Declared in errors.ts, which index.ts loads at start, so that the catalogue has them (docs/errors.md).
export { SERVE_ENQUEUE_ERRORS } from './errors.js'

/** What the routes use of a hub: the in-process SessionHub and the EnqueueHub both are one. */
export type ServeHub = Omit<{ [K in keyof SessionHub]: SessionHub[K] }, 'submit'> & {
  /** `runId`: the durable run a prompt became (enqueue mode). */
  submit(id: string, text: string): Promise<{ queued: boolean; readonly runId?: string }>
}

export interface EnqueueHubOptions {
  readonly runs: DurableRuns
  readonly sessions: SessionService
  /** The server's working directory: a session's default cwd (it must be the workers' path too). */
  readonly cwd: string
  readonly logger: Logger
  readonly checkModel?: (model: string) => void
  /** How often a stream looks at the store for new records (ms). */
  readonly pollMs?: number
}

interface Conversation {
  readonly id: string
  readonly model?: string
  readonly cwd: string
  readonly createdAt: string
  /** The last run enqueued from this server. */
  runId?: string
}

const ACTIVE = new Set(['ENQUEUED', 'PENDING'])

function unsupported(what: string): TauError {
  return new TauError(SERVE_ENQUEUE_ERRORS.TAU_SERVE_ENQUEUE_UNSUPPORTED, what, { plugin: 'serve' })
}

function notFound(what: string): TauError {
  return new TauError(SERVE_ERRORS.TAU_SERVE_NOT_FOUND, what, { plugin: 'serve' })
}

/** The durable run a log's last unended agent run belongs to (the root of its `resumes` chain). */
function openRunOf(records: readonly TranscriptRecord[]): string | undefined {
  if (!interruptedIn(records)) return undefined
  const resumes = new Map<string, string>()
  let last: string | undefined
  for (const r of records) {
    if (r.type !== 'run-start') continue
    if (r.resumes !== undefined) resumes.set(r.runId, r.resumes)
    last = r.runId
  }
  let id = last
  while (id !== undefined && resumes.has(id)) id = resumes.get(id)
  return id
}

/**
 * True when the log has the end of durable run `runId` (of its agent run or a continuation of it):
 * DBOS records the run's end a moment after the worker's last record, and the run is over by then.
 * An aborted end is not: a worker that stopped hands the run back, and another continues it.
 */
function endedIn(records: readonly TranscriptRecord[], runId: string): boolean {
  const chain = new Set<string>()
  for (const r of records) {
    if (r.type === 'run-start' && (r.runId === runId || (r.resumes !== undefined && chain.has(r.resumes))))
      chain.add(r.runId)
    if (r.type === 'run-end' && chain.has(r.runId) && r.stopReason !== 'aborted') return true
  }
  return false
}

export class EnqueueHub implements ServeHub {
  private readonly conversations = new Map<string, Conversation>()
  private readonly stopped = new AbortController()

  constructor(private readonly options: EnqueueHubOptions) {}

  async create(create: CreateOptions): Promise<SessionView> {
    for (const field of [
      'permissionMode',
      'allowedTools',
      'disallowedTools',
      'mcpServers',
      'sandbox',
    ] as const) {
      if (create[field] !== undefined)
        throw unsupported(
          `${field}: not taken in enqueue mode (the worker's config sets it for the runs it takes)`,
        )
    }
    if (create.model !== undefined) this.options.checkModel?.(create.model)
    const conversation: Conversation = {
      id: randomUUID(),
      cwd: create.cwd ?? this.options.cwd,
      createdAt: new Date().toISOString(),
      ...(create.model !== undefined ? { model: create.model } : {}),
    }
    this.conversations.set(conversation.id, conversation)
    return this.get(conversation.id)
  }

  async fork(id: string): Promise<SessionView> {
    await this.get(id)
    throw unsupported(`session '${id}': fork runs in process; in enqueue mode the logs are the workers'`)
  }

  async list(): Promise<SessionView[]> {
    const stored = await this.options.sessions.list()
    const known = new Set(stored.map((s) => s.id))
    const fresh = [...this.conversations.values()].filter((c) => !known.has(c.id))
    const views = await Promise.all(fresh.map((c) => this.get(c.id)))
    for (const summary of stored) {
      if (summary.subagentOf) continue
      views.push(storedView(summary))
    }
    return views
  }

  async get(id: string): Promise<SessionView> {
    const conversation = this.conversations.get(id)
    const store = this.options.sessions.store
    const records = (await store.exists(id)) ? (await store.read(id)).records : undefined
    if (!conversation && !records) throw notFound(`no session '${id}'`)
    const summary = records ? await store.summary?.(id) : undefined
    const active = await this.activeRun(id, records)
    const firstUser = records?.find((r) => r.type === 'message' && r.message.role === 'user')
    const title =
      summary?.title ??
      (firstUser?.type === 'message' ? textOf(firstUser.message).split('\n')[0]!.slice(0, 200) : '')
    return {
      id,
      loaded: false,
      status: active ? 'running' : records && interruptedIn(records) ? 'interrupted' : 'idle',
      title,
      model: summary?.model ?? conversation?.model ?? '',
      cwd: summary?.cwd ?? conversation?.cwd ?? '',
      ...(summary
        ? { startedAt: summary.startedAt, updatedAt: summary.updatedAt, turns: summary.turns }
        : conversation
          ? { startedAt: conversation.createdAt }
          : {}),
      pending: [],
      queue: [],
      lastSeq: (records ?? []).reduce((max, r) => Math.max(max, r.seq ?? -1), -1),
    }
  }

  /** The session's run that is queued or running: the last one enqueued here, else the log's open one. */
  private async activeRun(id: string, records?: readonly TranscriptRecord[]): Promise<string | undefined> {
    const candidates = [this.conversations.get(id)?.runId, records ? openRunOf(records) : undefined]
    for (const runId of candidates) {
      if (runId === undefined || (records && endedIn(records, runId))) continue
      const status = await this.options.runs.show(runId).then(
        (run) => run.status,
        () => undefined, // not a durable run (a run of an in-process tau before)
      )
      if (status !== undefined && ACTIVE.has(status)) return runId
    }
    return undefined
  }

  async delete(id: string): Promise<void> {
    await this.abort(id)
    const stored = await this.options.sessions.store.exists(id)
    this.conversations.delete(id)
    if (stored)
      throw new TauError(
        SERVE_ERRORS.TAU_SERVE_CONFLICT,
        `session '${id}': its run was cancelled, but its store (${this.options.sessions.store.kind}) has no way to remove a log`,
        { plugin: 'serve' },
      )
  }

  /** Enqueues the prompt as a durable run of the session; a worker takes it. */
  async submit(id: string, text: string): Promise<{ queued: boolean; runId: string }> {
    const view = await this.get(id)
    const trimmed = text.trimStart()
    if (trimmed.startsWith('/') || trimmed.startsWith('#'))
      throw unsupported(
        'text: slash commands and `# notes` run in process; in enqueue mode only prompts are enqueued',
      )
    if (view.status === 'running')
      throw new TauError(
        SERVE_ERRORS.TAU_SERVE_CONFLICT,
        `session '${id}' has a run queued or running: wait for its run-end record, or abort it`,
        { plugin: 'serve' },
      )
    const conversation = this.conversations.get(id) ?? {
      id,
      cwd: view.cwd,
      createdAt: new Date().toISOString(),
    }
    this.conversations.set(id, conversation)
    const runId = `run-${randomUUID()}`
    await this.options.runs.submit(text, {
      sessionId: id,
      runId,
      cwd: conversation.cwd,
      ...(conversation.model !== undefined ? { model: conversation.model } : {}),
    })
    conversation.runId = runId
    this.options.logger.debug(`session ${id}: enqueued run ${runId}`)
    return { queued: true, runId }
  }

  async continueRun(id: string): Promise<void> {
    await this.get(id)
    throw unsupported(
      `session '${id}': in enqueue mode a run cut short is recovered by the workers (durable), not continued here`,
    )
  }

  /** Cancels the session's queued or running run (the durable cancel: its worker aborts it). */
  async abort(id: string): Promise<{ aborted: boolean; taken: string[] }> {
    const store = this.options.sessions.store
    if (!this.conversations.has(id) && !(await store.exists(id))) throw notFound(`no session '${id}'`)
    const records = (await store.exists(id)) ? (await store.read(id)).records : undefined
    const runId = await this.activeRun(id, records)
    if (runId === undefined) return { aborted: false, taken: [] }
    await this.options.runs.cancel(runId)
    return { aborted: true, taken: [] }
  }

  async setMode(id: string): Promise<void> {
    await this.get(id)
    throw unsupported(`session '${id}': the permission mode is the worker's in enqueue mode`)
  }

  async answer(id: string, questionId: string): Promise<void> {
    throw notFound(
      `session '${id}' has no pending question '${questionId}' (in enqueue mode nobody is asked)`,
    )
  }

  pendingQuestion(id: string, questionId: string): never {
    throw notFound(
      `session '${id}' has no pending question '${questionId}' (in enqueue mode nobody is asked)`,
    )
  }

  async commands(id: string): Promise<Awaited<ReturnType<SessionHub['commands']>>> {
    await this.get(id)
    return { commands: [], problems: [] }
  }

  /**
   * The session's log records after `from` (event `record`, id = seq), then each new one as it is
   * stored, and its runs' text as workers stream it (event `agent`, a `text-delta` with the seq of
   * its last delta: the same sequence, so Last-Event-ID after one resumes from the log), until the
   * client goes away or the server stops.
   */
  async stream(
    id: string,
    from: Position | undefined,
    send: (item: StreamItem) => void,
    signal: AbortSignal,
  ): Promise<void> {
    await this.get(id)
    await this.options.runs.follow(id, {
      after: (from ?? START).seq,
      onRecord: (record) => send({ seq: record.seq ?? -1, sub: 0, event: 'record', data: record }),
      onDelta: (delta) => send({ seq: delta.seq, sub: 0, event: 'agent', data: delta }),
      signal: AbortSignal.any([signal, this.stopped.signal]),
      ...(this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {}),
    })
  }

  async close(): Promise<void> {
    this.stopped.abort()
    this.conversations.clear()
  }
}
