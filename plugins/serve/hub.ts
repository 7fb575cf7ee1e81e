/**
 * The sessions of one `tau serve`: each is a SessionController (the session logic every frontend
 * shares) whose questions wait on its board, plus the buffer its SSE streams resume from. A
 * session is in memory once created, forked or used; a stored one (an earlier server's, one
 * killed mid-run) is opened from its log at its first use — its lease taken, an interrupted run
 * reported as `interrupted` until it is continued. Nothing here keeps state the log cannot
 * rebuild except what a live stream needs (the buffer, the board's open questions).
 */
import { rm } from 'node:fs/promises'
import { type Logger, TauError, textOf } from '../../kernel/index.js'
import type { AgentSessionOptions } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { SessionService, SessionSummary, TranscriptRecord } from '../session/index.js'
import type {
  AnswerOf,
  ControllerEvent,
  PendingQuestion,
  SessionController,
  SessionControllers,
} from '../session-controller/index.js'
import { SERVE_ERRORS } from './errors.js'
import { after, type Position, START, StreamBuffer, type StreamItem } from './stream-buffer.js'

export type SessionStatus = 'idle' | 'running' | 'interrupted'

export interface SessionView {
  readonly id: string
  /** In memory (a controller holds its lease) or only in the log. */
  readonly loaded: boolean
  readonly status: SessionStatus
  readonly title: string
  readonly model: string
  readonly cwd: string
  readonly permissionMode?: string
  readonly startedAt?: string
  readonly updatedAt?: string
  readonly turns?: number
  readonly parent?: { readonly id: string; readonly messages: number }
  /** Questions waiting for an answer (loaded sessions only). */
  readonly pending: PendingQuestion[]
  /** Prompts queued behind the current run. */
  readonly queue: readonly string[]
  /** The last seq of the session's sequence seen here: an SSE client is up to date after it. */
  readonly lastSeq: number
}

export interface CreateOptions {
  readonly model?: string
  readonly permissionMode?: PermissionMode
  readonly cwd?: string
  readonly allowedTools?: readonly string[]
  readonly disallowedTools?: readonly string[]
  /** The session's own MCP servers (the mcp plugin's session servers). */
  readonly mcpServers?: Readonly<Record<string, unknown>>
  /** The session's environment, over the global `sandbox` config. */
  readonly sandbox?: Readonly<Record<string, unknown>>
}

type Listener = (item: StreamItem | 'end') => void

interface Entry {
  id: string
  readonly controller: SessionController
  buffer: StreamBuffer
  readonly listeners: Set<Listener>
  interrupted: boolean
  readonly createdAt: string
}

export interface HubOptions {
  readonly controllers: SessionControllers
  readonly sessions: SessionService | undefined
  readonly cwd: string
  readonly bufferSize: number
  readonly logger: Logger
  /** Throws a clear error for a model no provider serves (the providers plugin checks). */
  readonly checkModel?: (model: string) => void
}

function notFound(what: string): TauError {
  return new TauError(SERVE_ERRORS.TAU_SERVE_NOT_FOUND, what, { plugin: 'serve' })
}

export class SessionHub {
  private readonly entries = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Entry>>()
  /** Streams of a stored session waiting for it to be opened (then they go live). */
  private readonly waiters = new Map<string, Set<() => void>>()
  private closed = false

  constructor(private readonly options: HubOptions) {}

  // ---- sessions ---------------------------------------------------------------------------

  async create(create: CreateOptions): Promise<SessionView> {
    if (create.model !== undefined) this.options.checkModel?.(create.model)
    const sessionOptions: { -readonly [K in keyof AgentSessionOptions]: AgentSessionOptions[K] } = {
      cwd: create.cwd ?? this.options.cwd,
      ...(create.model !== undefined ? { model: create.model } : {}),
      ...(create.permissionMode !== undefined ? { permissionMode: create.permissionMode } : {}),
      ...(create.allowedTools !== undefined ? { allowedTools: create.allowedTools } : {}),
      ...(create.disallowedTools !== undefined ? { disallowedTools: create.disallowedTools } : {}),
    }
    // Per-session settings, checked by the owning plugin's schema (TAU_SESSION_SETTINGS_INVALID: 400).
    const settings: Record<string, unknown> = {
      ...(create.mcpServers !== undefined ? { mcpServers: create.mcpServers } : {}),
      ...(create.sandbox !== undefined ? { sandbox: create.sandbox } : {}),
    }
    if (Object.keys(settings).length > 0) sessionOptions.settings = settings
    const entry = this.open(sessionOptions, -1, false)
    return this.viewOf(entry)
  }

  /** A copy of a stored session under a new id (the parent's log is untouched). */
  async fork(id: string): Promise<SessionView> {
    const sessions = this.requireSessions()
    if (!(await sessions.store.exists(id)))
      throw notFound(`session '${id}' has no log to fork yet (no prompt ran in it)`)
    const plan = await sessions.resume(id, { fork: true })
    const entry = this.open({ ...plan.options }, plan.options.lastSeq, false)
    return this.viewOf(entry)
  }

  async list(): Promise<SessionView[]> {
    const views = [...new Set(this.entries.values())].map((entry) => this.viewOf(entry))
    const known = new Set(views.map((v) => v.id))
    const stored = (await this.options.sessions?.list()) ?? []
    for (const summary of stored) {
      if (known.has(summary.id) || summary.subagentOf) continue
      views.push(storedView(summary))
    }
    return views
  }

  async get(id: string): Promise<SessionView> {
    const entry = this.entries.get(id)
    if (entry) return this.viewOf(entry)
    const sessions = this.options.sessions
    if (!sessions || !(await sessions.store.exists(id))) throw notFound(`no session '${id}'`)
    const { records } = await sessions.store.read(id)
    // One session, looked up directly: the store's own summary when it has one, else the records'.
    const summary = (await sessions.store.summary?.(id)) ?? summaryOf(records)
    const mode = records.findLast((r) => r.type === 'mode')
    return {
      id,
      loaded: false,
      status: interruptedIn(records) ? 'interrupted' : 'idle',
      title: summary?.title ?? '',
      model: summary?.model ?? '',
      cwd: summary?.cwd ?? '',
      ...(mode && 'mode' in mode ? { permissionMode: String(mode.mode) } : {}),
      ...(summary
        ? { startedAt: summary.startedAt, updatedAt: summary.updatedAt, turns: summary.turns }
        : {}),
      ...(summary?.parent ? { parent: summary.parent } : {}),
      pending: [],
      queue: [],
      lastSeq: records.reduce((max, r) => Math.max(max, r.seq ?? -1), -1),
    }
  }

  /** Closes the session (its run aborted, its lease released) and removes its log. */
  async delete(id: string): Promise<void> {
    const entry = this.entries.get(id)
    const sessions = this.options.sessions
    const stored = sessions ? await sessions.store.exists(id) : false
    if (!entry && !stored) throw notFound(`no session '${id}'`)
    if (entry) {
      this.entries.delete(id)
      this.end(entry)
      await entry.controller.close('delete')
    }
    if (stored && sessions) {
      const file = sessions.transcriptPath(id)
      if (file === undefined)
        throw new TauError(
          SERVE_ERRORS.TAU_SERVE_CONFLICT,
          `session '${id}' was closed, but its store (${sessions.store.kind}) has no way to remove a log`,
          { plugin: 'serve' },
        )
      await sessions.store.close(id)
      await rm(file, { force: true })
    }
  }

  // ---- what a session does ----------------------------------------------------------------

  /** A prompt, a `/command` or `# text`: handled now, or queued behind the run going on. */
  async submit(id: string, text: string): Promise<{ queued: boolean }> {
    const entry = await this.load(id)
    const queued = entry.controller.working
    void entry.controller.submit(text)
    return { queued }
  }

  /** Goes on with the run the last server was killed in (no user message is invented). */
  async continueRun(id: string): Promise<void> {
    const entry = await this.load(id)
    if (entry.controller.working)
      throw new TauError(SERVE_ERRORS.TAU_SERVE_CONFLICT, `session '${id}' is running`, { plugin: 'serve' })
    void entry.controller.continueRun()
  }

  async abort(id: string): Promise<{ aborted: boolean; taken: string[] }> {
    const entry = this.entries.get(id)
    if (!entry) {
      await this.get(id) // 404 when there is no such session
      return { aborted: false, taken: [] }
    }
    const aborted = entry.controller.running
    return { aborted, taken: entry.controller.abort() }
  }

  async setMode(id: string, mode: PermissionMode): Promise<void> {
    const entry = await this.load(id)
    entry.controller.setMode(mode)
  }

  async answer<K extends PendingQuestion['kind']>(id: string, questionId: string, answer: AnswerOf[K]) {
    const entry = this.entries.get(id)
    if (!entry?.controller.answer<K>(questionId, answer))
      throw notFound(`session '${id}' has no pending question '${questionId}'`)
  }

  pendingQuestion(id: string, questionId: string): PendingQuestion {
    const question = this.entries
      .get(id)
      ?.controller.pending()
      .find((q) => q.id === questionId)
    if (!question) throw notFound(`session '${id}' has no pending question '${questionId}'`)
    return question
  }

  async commands(id: string) {
    const entry = await this.load(id)
    return entry.controller.commands()
  }

  // ---- streams ----------------------------------------------------------------------------

  /**
   * Sends what came after `from` (the log's records the buffer no longer holds, then the buffer),
   * then every new item until `signal` aborts or the session is replaced or deleted.
   */
  async stream(
    id: string,
    from: Position | undefined,
    send: (item: StreamItem) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let last = from ?? START
    const entry = this.entries.get(id)
    if (!entry) await this.get(id) // 404 before anything is sent
    const covered = entry ? entry.buffer.coveredAfter : Number.POSITIVE_INFINITY
    if (last.seq < covered) {
      for (const record of await this.logRecords(id)) {
        if (signal.aborted) return
        if (record.seq === undefined || record.seq <= last.seq) continue
        if (record.seq > covered) break
        send({ seq: record.seq, sub: 0, event: 'record', data: record })
        last = { seq: record.seq, sub: 0 }
      }
    }
    for (;;) {
      if (signal.aborted || this.closed) return
      const live = this.entries.get(id)
      if (!live) {
        // Only in the log: wait until it is opened (a prompt), then follow it live.
        const opened = await this.waitForOpen(id, signal)
        if (!opened) return
        continue
      }
      await new Promise<void>((resolve) => {
        const listener: Listener = (item) => {
          if (item === 'end') return finish()
          if (after(item, last)) {
            last = item
            send(item)
          }
        }
        const finish = () => {
          live.listeners.delete(listener)
          signal.removeEventListener('abort', finish)
          resolve()
        }
        for (const item of live.buffer.since(last)) {
          last = item
          send(item)
        }
        live.listeners.add(listener)
        signal.addEventListener('abort', finish, { once: true })
      })
      // The stream of this id ends when its session is replaced (/clear) or deleted.
      return
    }
  }

  private async logRecords(id: string): Promise<readonly TranscriptRecord[]> {
    const sessions = this.options.sessions
    if (!sessions || !(await sessions.store.exists(id))) return []
    return (await sessions.store.read(id)).records
  }

  private waitForOpen(id: string, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set()
      this.waiters.set(id, set)
      const done = (opened: boolean) => {
        set.delete(wake)
        signal.removeEventListener('abort', onAbort)
        resolve(opened)
      }
      const wake = () => done(true)
      const onAbort = () => done(false)
      set.add(wake)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  // ---- entries ----------------------------------------------------------------------------

  /** The session in memory, opening a stored one from its log (taking its lease). */
  private load(id: string): Promise<Entry> {
    const entry = this.entries.get(id)
    if (entry) return Promise.resolve(entry)
    let loading = this.loading.get(id)
    if (!loading) {
      loading = (async () => {
        const sessions = this.options.sessions
        if (!sessions || !(await sessions.store.exists(id))) throw notFound(`no session '${id}'`)
        const plan = await sessions.resume(id)
        for (const warning of plan.warnings) this.options.logger.warn(`session ${id}: ${warning}`)
        return this.open({ ...plan.options }, plan.options.lastSeq, plan.interrupted !== undefined)
      })().finally(() => this.loading.delete(id))
      this.loading.set(id, loading)
    }
    return loading
  }

  private open(sessionOptions: AgentSessionOptions, lastSeq: number, interrupted: boolean): Entry {
    if (this.closed)
      throw new TauError(SERVE_ERRORS.TAU_SERVE_CONFLICT, 'the server is stopping', { plugin: 'serve' })
    const controller = this.options.controllers.create({ sessionOptions })
    try {
      controller.open()
    } catch (error) {
      void controller.close('error')
      throw error
    }
    const entry: Entry = {
      id: controller.session.id,
      controller,
      buffer: new StreamBuffer(lastSeq, this.options.bufferSize),
      listeners: new Set(),
      interrupted,
      createdAt: new Date().toISOString(),
    }
    controller.subscribe((event) => this.onEvent(entry, event))
    this.entries.set(entry.id, entry)
    for (const wake of this.waiters.get(entry.id) ?? []) wake()
    this.waiters.delete(entry.id)
    return entry
  }

  private onEvent(entry: Entry, event: ControllerEvent): void {
    if (event.type === 'agent') {
      const agentEvent = event.event
      // A subagent's events carry its own session and seq: they are notes in this sequence.
      const own = agentEvent.sessionId === entry.id && agentEvent.parentToolCallId === undefined
      this.publish(
        entry,
        own
          ? entry.buffer.pushSeq(agentEvent.seq, 'agent', agentEvent)
          : entry.buffer.pushNote('agent', agentEvent),
      )
      return
    }
    if (event.type === 'run-start') entry.interrupted = false
    this.publish(entry, entry.buffer.pushNote(event.type, event))
    if (event.type === 'session') {
      // /clear, /model, /resume: a new agent session with its own sequence, under its own id.
      // Streams of the old id end here; clients follow `sessionId`.
      this.end(entry)
      this.entries.delete(entry.id)
      entry.id = event.sessionId
      entry.buffer = new StreamBuffer(-1, this.options.bufferSize)
      this.entries.set(entry.id, entry)
    }
  }

  private publish(entry: Entry, item: StreamItem): void {
    for (const listener of [...entry.listeners]) listener(item)
  }

  private end(entry: Entry): void {
    for (const listener of [...entry.listeners]) listener('end')
  }

  private viewOf(entry: Entry): SessionView {
    const controller = entry.controller
    const session = controller.session
    const status: SessionStatus = controller.working ? 'running' : entry.interrupted ? 'interrupted' : 'idle'
    const title = session.conversation.messages.find((m) => m.role === 'user')
    return {
      id: entry.id,
      loaded: true,
      status,
      title: title ? textOf(title).split('\n')[0]!.slice(0, 200) : '',
      model: session.model,
      cwd: session.cwd,
      ...(session.permissions ? { permissionMode: session.permissions.mode } : {}),
      startedAt: entry.createdAt,
      pending: controller.pending(),
      queue: controller.queue,
      lastSeq: lastSeqOf(entry),
    }
  }

  private requireSessions(): SessionService {
    const sessions = this.options.sessions
    if (!sessions)
      throw new TauError(
        SERVE_ERRORS.TAU_SERVE_CONFLICT,
        'fork needs the session plugin, which is not loaded',
        {
          plugin: 'serve',
        },
      )
    return sessions
  }

  /** Closes every session (runs aborted, leases released). */
  async close(): Promise<void> {
    this.closed = true
    for (const set of this.waiters.values()) for (const wake of set) wake()
    const entries = [...new Set(this.entries.values())]
    this.entries.clear()
    for (const entry of entries) this.end(entry)
    await Promise.allSettled(entries.map((entry) => entry.controller.close('exit')))
  }
}

function lastSeqOf(entry: Entry): number {
  const items = entry.buffer.since(START)
  return items.length === 0 ? entry.buffer.coveredAfter : items.at(-1)!.seq
}

/** True when the log's last run has no end: the process stopped during it. */
/** A stored session's summary from its records (a store without summary()): the last record's time as its update. */
function summaryOf(
  records: readonly TranscriptRecord[],
):
  | Pick<SessionSummary, 'title' | 'model' | 'cwd' | 'startedAt' | 'updatedAt' | 'turns' | 'parent'>
  | undefined {
  const meta = records[0]
  if (meta?.type !== 'meta') return undefined
  let updatedAt = meta.startedAt
  let turns = 0
  for (const record of records) {
    if ('at' in record && typeof record.at === 'string') updatedAt = record.at
    if (record.type === 'message' && record.message.role === 'user') turns++
  }
  return {
    title: meta.title,
    model: meta.model,
    cwd: meta.cwd,
    startedAt: meta.startedAt,
    updatedAt,
    turns,
    ...(meta.parent ? { parent: meta.parent } : {}),
  }
}

/**
 * A stored session that is not loaded, as GET /sessions lists it: what its summary says. Whether
 * its last run was cut short is read from its log by GET /sessions/{id}.
 */
export function storedView(summary: SessionSummary): SessionView {
  return {
    id: summary.id,
    loaded: false,
    status: 'idle',
    title: summary.title,
    model: summary.model,
    cwd: summary.cwd,
    startedAt: summary.startedAt,
    updatedAt: summary.updatedAt,
    turns: summary.turns,
    ...(summary.parent ? { parent: summary.parent } : {}),
    pending: [],
    queue: [],
    lastSeq: -1,
  }
}

export function interruptedIn(records: readonly TranscriptRecord[]): boolean {
  for (let i = records.length - 1; i >= 0; i--) {
    const type = records[i]!.type
    if (type === 'run-end') return false
    if (type === 'run-start') return true
  }
  return false
}
