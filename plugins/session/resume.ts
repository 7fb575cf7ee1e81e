/**
 * Resume and fork of a stored session (`session.service`'s resume, used by `tau start --continue /
 * --resume ID / --fork-session`): finding the session (`latest`, an id, or a name), taking its
 * lease, replaying its records into the options of the agent session that goes on, answering the
 * tool calls a crash left in flight, and for a fork copying the log under a new id.
 */
import { randomUUID } from 'node:crypto'
import { Conversation, TauError } from '../../kernel/index.js'
import type { PermissionMode } from '../permissions/index.js'
import { SESSION_ERRORS } from './errors.js'
import { fresh, type Recorder, type Tracked } from './recorder.js'
import type { ResumePlan } from './service.js'
import { settingsFromLog } from './settings-log.js'
import {
  type RecordBody,
  replay,
  TRANSCRIPT_VERSION,
  type TranscriptLease,
  type TranscriptStore,
} from './transcript.js'

const MODES: readonly string[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions']

export interface ResumeDeps {
  readonly store: TranscriptStore
  readonly recorder: Recorder
  /** Whether this run writes transcripts (a resume takes the lease and answers in the log). */
  readonly persist: boolean
  /** Where the sessions are, for messages. */
  readonly dir: string
}

/** The service's resume(): a stored session prepared to go on, or a fork of it. */
export function createResume({
  store,
  recorder,
  persist,
  dir,
}: ResumeDeps): (id: string, options?: { fork?: boolean }) => Promise<ResumePlan> {
  const { tracked, originals, stamp } = recorder

  async function resume(id: string, options: { fork?: boolean } = {}): Promise<ResumePlan> {
    let target = id
    if (id === 'latest') {
      // A subagent's log is part of its parent's session, never the one to go on with.
      const latest = (await store.list()).find((summary) => summary.subagentOf === undefined)
      if (!latest) {
        throw new TauError(SESSION_ERRORS.TAU_SESSION_NOT_FOUND, `no stored session to continue (${dir})`, {
          plugin: 'session',
        })
      }
      target = latest.id
    } else if (!(await store.exists(id))) {
      // Not an id: a session's name (its title, as --name sets it), the newest of that name.
      const named = (await store.list()).find(
        (summary) => summary.subagentOf === undefined && summary.title === id,
      )
      if (named) target = named.id
    }
    // The one writer: a second process resuming the same session stops here, before any write.
    const lease = persist && !options.fork ? await store.acquire(target) : undefined
    try {
      return await prepare(target, lease, options.fork === true)
    } catch (error) {
      await lease?.release()
      throw error
    }
  }

  async function prepare(
    target: string,
    lease: TranscriptLease | undefined,
    fork: boolean,
  ): Promise<ResumePlan> {
    const read = await store.read(target)
    const state = replay(read.records, store.location(target))
    const messages = state.messages.slice()
    const answerAt = messages.length
    if (state.answers) {
      // Tool calls the process stopped in: answered (never run again), so no request carries
      // a call without its result.
      messages.push({ role: 'tool', content: state.answers })
    }
    const mode =
      state.mode !== undefined && MODES.includes(state.mode) ? (state.mode as PermissionMode) : undefined
    // The session's own settings: as given when this process has them, else the log's.
    const original = originals.get(target)
    const restored = original ? { settings: original, warnings: [] } : settingsFromLog(state.meta)
    const warnings = [...read.warnings, ...restored.warnings]
    const base = {
      ...(restored.settings === undefined ? {} : { settings: restored.settings }),
      cwd: state.meta.cwd,
      model: state.model,
      conversation: Conversation.of(messages),
      todos: state.todos,
      ...(state.systemPrompt === undefined ? {} : { systemPrompt: state.systemPrompt }),
      ...(mode === undefined ? {} : { permissionMode: mode, loggedMode: mode }),
      loggedModel: state.model,
      ...(state.rules.length > 0 ? { sessionRules: state.rules } : {}),
    }
    const trackedState: Tracked = {
      ...fresh(),
      opening: Promise.resolve(),
      lease,
      seq: state.lastSeq,
      system: state.systemPrompt,
      todos: JSON.stringify(state.todos),
      lastUsage: state.lastUsage,
    }
    if (!fork) {
      if (state.answers && persist) {
        const at = new Date().toISOString()
        const record = stamp(target, trackedState, {
          type: 'message',
          index: answerAt,
          at,
          message: { role: 'tool', content: state.answers },
        })
        await store.append(target, [record])
      }
      tracked.set(target, trackedState)
      return {
        options: {
          id: target,
          ...base,
          lastSeq: trackedState.seq,
          ...(state.interrupted ? { interrupted: state.interrupted } : {}),
        },
        from: state.meta,
        warnings,
        ...(state.interrupted ? { interrupted: state.interrupted.runId } : {}),
        ...(state.answers ? { answered: state.answers.length } : {}),
      }
    }
    const forkId = randomUUID()
    const now = new Date().toISOString()
    const bodies: RecordBody[] = [
      {
        type: 'meta',
        version: TRANSCRIPT_VERSION,
        id: forkId,
        startedAt: now,
        cwd: state.meta.cwd,
        model: state.meta.model,
        title: state.meta.title,
        parent: { id: target, messages: state.messages.length },
        ...(state.meta.settings === undefined ? {} : { settings: state.meta.settings }),
        ...(state.meta.withheld === undefined ? {} : { withheld: state.meta.withheld }),
      },
      ...(state.systemPrompt === undefined ? [] : [{ type: 'system' as const, text: state.systemPrompt }]),
      ...messages.map((message, index) => ({ type: 'message' as const, index, at: now, message })),
      ...(state.todos.length > 0 ? [{ type: 'todos' as const, todos: state.todos }] : []),
      ...(state.lastUsage ? [{ type: 'usage' as const, ...state.lastUsage }] : []),
      ...(mode === undefined ? [] : [{ type: 'mode' as const, mode, at: now }]),
      ...(state.model === state.meta.model ? [] : [{ type: 'model' as const, model: state.model, at: now }]),
      ...state.rules.map((rule) => ({ type: 'rule' as const, ...rule, at: now })),
    ]
    const forkState: Tracked = { ...trackedState, seq: -1, opening: Promise.resolve(), lease: undefined }
    if (persist) {
      forkState.lease = await store.acquire(forkId)
      await store.append(
        forkId,
        bodies.map((body) => stamp(forkId, forkState, body)),
      )
    }
    tracked.set(forkId, forkState)
    if (original) originals.set(forkId, original)
    return {
      options: { id: forkId, ...base, lastSeq: forkState.seq },
      from: state.meta,
      forkedFrom: target,
      warnings,
      ...(state.answers ? { answered: state.answers.length } : {}),
    }
  }

  return resume
}
