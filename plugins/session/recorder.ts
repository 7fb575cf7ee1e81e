/**
 * The writing side of the session plugin: what it knows of each session it writes (its lease, the
 * last seq, system prompt, todos and usage it wrote), the meta line at the first write, stamping
 * records with their place in the session's sequence, and the agent hooks that write the log as
 * the loop goes on (one sync per turn). Without persistence only the last usage is kept, for token
 * accounting.
 */
import { randomUUID } from 'node:crypto'
import type { TapView, Usage } from '../../kernel/index.js'
import type { AgentHooks, AgentSession } from '../agent/index.js'
import { settingsForLog } from './settings-log.js'
import {
  type RecordBody,
  type SessionMeta,
  TRANSCRIPT_VERSION,
  type TranscriptLease,
  type TranscriptRecord,
  type TranscriptStore,
  titleOf,
} from './transcript.js'

/** What the plugin knows of a session it writes. */
export interface Tracked {
  /** Settles once the lease is held and the meta line is in the store; rejects when either failed. */
  opening: Promise<void> | undefined
  lease: TranscriptLease | undefined
  /** The last seq written while no agent session of the id is open (resume, fork). */
  seq: number
  system: string | undefined
  todos: string
  lastUsage: { usage: Usage; messages: number } | undefined
}

export const fresh = (): Tracked => ({
  opening: undefined,
  lease: undefined,
  seq: -1,
  system: undefined,
  todos: '[]',
  lastUsage: undefined,
})

export interface RecorderDeps {
  readonly store: TranscriptStore
  readonly sessionOf: (id: string) => AgentSession | undefined
  /** The working directory a session without an agent session of its own is logged with. */
  readonly cwd: string
  /** `tau start --name NAME`: the title of the run's session (a subagent's stays its prompt). */
  readonly name: string | undefined
}

/** The sessions the plugin writes, and how it writes their records. */
export interface Recorder {
  readonly tracked: Map<string, Tracked>
  /**
   * Settings whose log copy lost values (secrets), as given, for a resume or fork in this
   * process; after a restart the log's copy is all there is (settings-log.ts).
   */
  readonly originals: Map<string, Readonly<Record<string, unknown>>>
  track(id: string, title: string): Tracked
  stamp(id: string, state: Tracked, body: RecordBody): TranscriptRecord
  write(id: string, bodies: readonly RecordBody[], title?: string): Promise<void>
}

export function createRecorder({ store, sessionOf, cwd, name }: RecorderDeps): Recorder {
  const tracked = new Map<string, Tracked>()
  const originals = new Map<string, Readonly<Record<string, unknown>>>()
  const logSettings = (id: string, settings: Readonly<Record<string, unknown>> | undefined) => {
    if (settings === undefined || Object.keys(settings).length === 0) return {}
    const logged = settingsForLog(settings)
    if (logged.withheld) originals.set(id, settings)
    return logged
  }

  /**
   * The session's state. The first time: takes its lease, and writes the meta line (the title is
   * the first prompt) unless the store has the session already.
   */
  function track(id: string, title: string): Tracked {
    let state = tracked.get(id)
    if (state) return state
    state = fresh()
    tracked.set(id, state)
    const opening = (async () => {
      state.lease = await store.acquire(id)
      // An agent session created with the id of a stored one, not through resume(): go on appending.
      if (await store.exists(id)) return
      const session = sessionOf(id)
      const meta: Omit<SessionMeta, 'seq'> = {
        type: 'meta',
        version: TRANSCRIPT_VERSION,
        id,
        startedAt: new Date().toISOString(),
        cwd: session?.cwd ?? cwd,
        model: session?.model ?? '',
        title: titleOf(name !== undefined && !session?.parent ? name : title),
        ...(session?.parent
          ? { subagentOf: { id: session.parent.sessionId, toolCallId: session.parent.toolCallId } }
          : {}),
        ...logSettings(id, session?.settings),
      }
      await store.append(id, [stamp(id, state, meta)])
    })()
    state.opening = opening
    // Tried again by the next write (the lease may be free by then).
    opening.catch(() => {
      if (tracked.get(id) === state && !state.lease) tracked.delete(id)
    })
    return state
  }

  /** A record with its place in the session's sequence (shared with its events) and an id. */
  function stamp(id: string, state: Tracked, body: RecordBody): TranscriptRecord {
    const session = sessionOf(id)
    const seq = session ? session.nextSeq() : ++state.seq
    // The meta record's id is the session's.
    return (body.type === 'meta' ? { seq, ...body } : { seq, id: randomUUID(), ...body }) as TranscriptRecord
  }

  /** Writes records of a session in the order of the calls (stamped after its opening). */
  async function write(id: string, bodies: readonly RecordBody[], title = ''): Promise<void> {
    const state = track(id, title)
    await state.opening
    await store.append(
      id,
      bodies.map((body) => stamp(id, state, body)),
    )
  }

  return { tracked, originals, track, stamp, write }
}

/**
 * Taps the agent hooks that write a session's log (`persist`), or, without persistence, only keep
 * the last usage of each session for token accounting.
 */
export function tapRecording(
  hooks: TapView<AgentHooks>,
  recorder: Recorder,
  { store, sessionOf, persist }: Pick<RecorderDeps, 'store' | 'sessionOf'> & { readonly persist: boolean },
): void {
  const { tracked, track, write } = recorder
  if (persist) {
    hooks.runStart.tapPromise(async ({ sessionId, runId, prompt, options, model, resumes }) => {
      await write(
        sessionId,
        [
          {
            type: 'run-start',
            at: new Date().toISOString(),
            runId,
            ...(prompt === undefined ? {} : { prompt }),
            options: { ...options },
            model,
            ...(resumes === undefined ? {} : { resumes }),
          },
        ],
        prompt ?? '',
      )
    })
    hooks.runEnd.tapPromise(async ({ sessionId, isError: _, ...end }) => {
      if (!tracked.has(sessionId)) return
      await write(sessionId, [{ type: 'run-end', at: new Date().toISOString(), ...end }])
      await store.sync(sessionId)
    })
    hooks.record.tapPromise(async ({ sessionId, entries }) => {
      const at = new Date().toISOString()
      await write(
        sessionId,
        entries.map((entry) => ({ ...entry, at })),
      )
    })
    hooks.messageAppended.tapPromise(async ({ sessionId, message, index }) => {
      const records: RecordBody[] = [{ type: 'message', index, at: new Date().toISOString(), message }]
      const title = message.role === 'user' && typeof message.content === 'string' ? message.content : ''
      const state = track(sessionId, title)
      if (message.role === 'tool') {
        const todos = sessionOf(sessionId)?.todos
        const text = JSON.stringify(todos ?? [])
        if (todos && text !== state.todos) {
          state.todos = text
          records.push({ type: 'todos', todos })
        }
      }
      await write(sessionId, records, title)
      // The end of a turn (its results are in): the durability point of `turn`.
      if (message.role === 'tool') await store.sync(sessionId)
    })
    hooks.beforeModelCall.tapPromise(async (call) => {
      const session = sessionOf(call.sessionId)
      const state = tracked.get(call.sessionId)
      if (session && state) {
        const system = await session.systemPrompt()
        if (system !== state.system) {
          state.system = system
          await write(call.sessionId, [{ type: 'system', text: system }])
        }
      }
      return call
    })
    hooks.afterModelCall.tapPromise(async ({ sessionId, runId, turn, response, costUsd }) => {
      const state = tracked.get(sessionId)
      const messages = sessionOf(sessionId)?.conversation.length
      if (!state || messages === undefined) return
      state.lastUsage = { usage: response.usage, messages }
      await write(sessionId, [
        {
          type: 'usage',
          usage: response.usage,
          messages,
          runId,
          turn,
          ...(costUsd === undefined ? {} : { costUsd }),
        },
      ])
    })
    hooks.sessionEnd.tapPromise(async ({ sessionId }) => {
      const state = tracked.get(sessionId)
      tracked.delete(sessionId)
      try {
        await store.close(sessionId)
      } finally {
        await state?.lease?.release()
      }
    })
  } else {
    hooks.afterModelCall.tapPromise(async ({ sessionId, response }) => {
      const messages = sessionOf(sessionId)?.conversation.length
      if (messages === undefined) return
      const state = tracked.get(sessionId) ?? fresh()
      state.lastUsage = { usage: response.usage, messages }
      tracked.set(sessionId, state)
    })
    hooks.sessionEnd.tapPromise(async ({ sessionId }) => {
      tracked.delete(sessionId)
    })
  }
}
