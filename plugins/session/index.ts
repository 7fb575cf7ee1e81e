/**
 * `session`: every agent session's log persisted as an append-only transcript (JSONL files under
 * `$TAU_HOME/projects/<project-key>/` by default; the store is the `session.store` service),
 * written before the loop goes on; one writer per session (a lease); resume and fork of stored
 * sessions (`session.service`, used by `tau start --continue / --resume ID / --fork-session`),
 * answering tool calls a crash left in flight; token accounting; `tau sessions`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'
import {
  Conversation,
  cliCommandsRef,
  definePlugin,
  type Message,
  TauError,
  textOf,
  type Usage,
} from '../../kernel/index.js'
import { type AgentSession, agentHooksRef, agentRuntimeRef, type CompactionInfo } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { toolRegistryRef } from '../tools/index.js'
import {
  applyClearing,
  applySummary,
  type ClearedResult,
  planClearing,
  renderForSummary,
  SUMMARY_SYSTEM,
  type SummaryReplacement,
  summaryCut,
  summaryMessage,
  summaryRequestText,
} from './compaction.js'
import { SESSION_ERRORS } from './errors.js'
import { type Durability, JsonlTranscriptStore } from './jsonl-store.js'
import { type CompactionResult, type ResumePlan, type SessionService, sessionServiceRef } from './service.js'
import { settingsForLog, settingsFromLog } from './settings-log.js'
import { contextOf, estimateMessages, estimateText, estimateTools, type TokenCount } from './tokens.js'
import {
  type RecordBody,
  replay,
  type SessionMeta,
  type SessionSummary,
  TRANSCRIPT_VERSION,
  type TranscriptLease,
  type TranscriptRecord,
  titleOf,
  transcriptStoreRef,
} from './transcript.js'

export * from './compaction.js'
export { SESSION_ERRORS } from './errors.js'
export {
  type Durability,
  type JsonlStoreOptions,
  JsonlTranscriptStore,
  LEASE_TTL_MS,
  parseTranscript,
} from './jsonl-store.js'
export {
  type CompactionResult,
  type ResumeOptions,
  type ResumePlan,
  type SessionService,
  sessionServiceRef,
} from './service.js'
export { settingsForLog, settingsFromLog } from './settings-log.js'
export {
  CHARS_PER_TOKEN,
  estimateMessage,
  estimateMessages,
  estimateText,
  type TokenCount,
} from './tokens.js'
export * from './transcript.js'

export const sessionConfig = z
  .strictObject({
    /** Write transcripts (false: sessions are not persisted, and cannot be resumed). */
    persist: z.boolean().default(true),
    /**
     * Where the JSONL store keeps transcripts (relative: to the project directory). Default
     * `$TAU_HOME/projects/<project-key>/`, outside the workspace.
     */
    dir: z.string().min(1).optional(),
    /** When records reach the disk: `turn` (one sync per turn, overlapped), `record`, `off`. */
    durability: z.enum(['turn', 'record', 'off']).optional(),
    /** The old name: `true` is durability `record`, `false` is `off`. */
    fsync: z.boolean().optional(),
    compaction: z
      .strictObject({
        /** Compact automatically (past the threshold, and on a context-length error). */
        auto: z.boolean().default(true),
        /** Compact before a model call when the session's tokens pass this share of the window. */
        threshold: z.number().gt(0).max(1).default(0.8),
        /** Tool results of this many latest tool turns are never cleared. */
        keepToolResults: z.number().int().min(0).default(3),
        /** This many latest model turns are kept verbatim by the summary. */
        keepTurns: z.number().int().min(1).default(3),
      })
      .prefault({}),
  })
  .superRefine((config, check) => {
    if (config.fsync === undefined || config.durability === undefined) return
    if (durabilityOf(config) !== (config.fsync ? 'record' : 'off')) {
      check.addIssue({
        code: 'custom',
        path: ['fsync'],
        message: `fsync is the old name of durability (fsync: true is durability 'record', false is 'off'), and the two disagree here; set only durability`,
      })
    }
  })

/** The durability the config asks for: `durability`, else the old `fsync`, else `turn`. */
export function durabilityOf(config: { durability?: Durability; fsync?: boolean }): Durability {
  if (config.durability !== undefined) return config.durability
  if (config.fsync !== undefined) return config.fsync ? 'record' : 'off'
  return 'turn'
}

/**
 * The folder name of a project under `$TAU_HOME/projects/`: its absolute path with every
 * character other than a letter or digit made `-` (as Claude Code names `~/.claude/projects/`),
 * cut with a hash when it is long.
 */
export function projectKey(projectDir: string): string {
  const key = projectDir.replace(/[^A-Za-z0-9]/g, '-')
  if (key.length <= 160) return key
  return `${key.slice(0, 140)}-${createHash('sha256').update(projectDir).digest('hex').slice(0, 16)}`
}

export type SessionConfig = z.infer<typeof sessionConfig>

/** What the plugin knows of a session it writes. */
interface Tracked {
  /** Settles once the lease is held and the meta line is in the store; rejects when either failed. */
  opening: Promise<void> | undefined
  lease: TranscriptLease | undefined
  /** The last seq written while no agent session of the id is open (resume, fork). */
  seq: number
  system: string | undefined
  todos: string
  lastUsage: { usage: Usage; messages: number } | undefined
}

const fresh = (): Tracked => ({
  opening: undefined,
  lease: undefined,
  seq: -1,
  system: undefined,
  todos: '[]',
  lastUsage: undefined,
})

const MODES: readonly string[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions']

/** `--name NAME` / `--name=NAME` among `tau start`'s arguments (read leniently: the rest are the frontend's). */
function nameOption(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') return undefined
    const value = arg === '--name' ? argv[i + 1] : arg.startsWith('--name=') ? arg.slice(7) : undefined
    if (value !== undefined && value.trim() !== '') return value.trim()
  }
  return undefined
}

export default definePlugin({
  name: 'session',
  description:
    'Session logs (JSONL under $TAU_HOME/projects/), one writer per session, resume after a crash, fork, token accounting, `tau sessions`',
  dependsOn: ['agent'],
  // A store plugin set up first provides session.store instead of the JSONL files.
  optionalDependsOn: ['session-postgres'],
  config: sessionConfig,
  setup(ctx) {
    const runtime = ctx.resolve(agentRuntimeRef)
    const hooks = ctx.hooksOf(agentHooksRef)
    const providers = ctx.resolve(providerRegistryRef)
    const toolRegistry = ctx.tryResolve(toolRegistryRef)
    const configured = ctx.config.dir
    const dir =
      configured === undefined
        ? join(ctx.paths.tauHome, 'projects', projectKey(ctx.paths.projectDir))
        : isAbsolute(configured)
          ? configured
          : join(ctx.paths.projectDir, configured)
    // A plugin set up earlier may provide another store (SQLite, PostgreSQL); else the JSONL files.
    const provided = ctx.tryResolve(transcriptStoreRef)
    const jsonl = provided
      ? undefined
      : new JsonlTranscriptStore(dir, {
          durability: durabilityOf(ctx.config),
          // Transcripts of tau before 0.2 lived in the workspace: moved out once, at first use.
          ...(configured === undefined
            ? {
                legacyDir: join(ctx.paths.projectDir, '.tau', 'sessions'),
                onMoved: (notice: string) => ctx.logger.warn(notice),
              }
            : {}),
        })
    const store = provided ?? jsonl!
    if (!provided) ctx.provide(transcriptStoreRef, store)
    const tracked = new Map<string, Tracked>()
    // `tau start --no-session-persistence` (Claude Code's flag): this run writes no transcript.
    const persist = ctx.config.persist && !ctx.argv.includes('--no-session-persistence')
    // `tau start --name NAME`: the title of the run's session (a subagent's stays its prompt).
    const name = nameOption(ctx.argv)

    const sessionOf = (id: string): AgentSession | undefined => runtime.sessions().find((s) => s.id === id)
    // Settings whose log copy lost values (secrets), as given, for a resume or fork in this
    // process; after a restart the log's copy is all there is (settings-log.ts).
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
          cwd: session?.cwd ?? ctx.paths.cwd,
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
      return (
        body.type === 'meta' ? { seq, ...body } : { seq, id: randomUUID(), ...body }
      ) as TranscriptRecord
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
        ...(state.model === state.meta.model
          ? []
          : [{ type: 'model' as const, model: state.model, at: now }]),
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

    async function tokens(sessionId: string): Promise<TokenCount> {
      const session = sessionOf(sessionId)
      if (!session) {
        throw new TauError(SESSION_ERRORS.TAU_SESSION_NOT_FOUND, `no open agent session ${sessionId}`, {
          plugin: 'session',
        })
      }
      const window = await providers.capabilities(session.model).then(
        (caps) => caps.contextWindow,
        () => undefined,
      )
      const messages = session.conversation.messages
      const last = tracked.get(sessionId)?.lastUsage
      if (last && last.messages <= messages.length) {
        const reported = contextOf(last.usage)
        const estimate = estimateMessages(messages.slice(last.messages))
        return { used: reported + estimate, window, estimate, reported }
      }
      const system = await session.systemPrompt().then(estimateText, () => 0)
      const tools = toolRegistry
        ? estimateTools(toolRegistry.definitions(toolRegistry.list().map((t) => t.name)))
        : 0
      const estimate = system + tools + estimateMessages(messages)
      return { used: estimate, window, estimate, reported: 0 }
    }

    const compacting = new Set<string>()

    /**
     * Compacts an open session: clears old tool results; then, unless that brought it under the
     * threshold (auto, threshold only), summarises the older turns with the model. Records it.
     */
    async function compactSession(
      sessionId: string,
      how: {
        trigger: 'auto' | 'manual'
        reason: CompactionInfo['reason']
        focus?: string
        signal?: AbortSignal
      },
      before?: TokenCount,
    ): Promise<CompactionResult> {
      const session = sessionOf(sessionId)
      if (!session) {
        throw new TauError(SESSION_ERRORS.TAU_SESSION_NOT_FOUND, `no open agent session ${sessionId}`, {
          plugin: 'session',
        })
      }
      if (compacting.has(sessionId)) {
        throw new TauError(SESSION_ERRORS.TAU_SESSION_BUSY, `session ${sessionId} is already compacting`, {
          plugin: 'session',
        })
      }
      compacting.add(sessionId)
      try {
        const { threshold, keepToolResults, keepTurns } = ctx.config.compaction
        const tokensBefore = (before ?? (await tokens(sessionId))).used
        let messages = session.conversation.messages.slice()
        const cleared: ClearedResult[] = planClearing(messages, keepToolResults)
        if (cleared.length > 0) messages = applyClearing(messages, cleared)
        let summary: SummaryReplacement | undefined
        const finish = async (): Promise<CompactionResult> => {
          if (cleared.length === 0 && !summary) {
            return { clearedResults: 0, summarizedMessages: 0, tokensBefore, tokensAfter: tokensBefore }
          }
          session.replaceConversation(Conversation.of(messages))
          const state = tracked.get(sessionId)
          if (state) state.lastUsage = undefined
          const tokensAfter = (await tokens(sessionId)).used
          const record: RecordBody = {
            type: 'compaction',
            at: new Date().toISOString(),
            trigger: how.trigger,
            reason: how.reason,
            cleared,
            ...(summary ? { summary } : {}),
            tokensBefore,
            tokensAfter,
          }
          if (persist && state?.lease) await write(sessionId, [record])
          ctx.logger.debug('compacted', { sessionId, cleared: cleared.length, summarized: summary?.to ?? 0 })
          return {
            clearedResults: cleared.length,
            summarizedMessages: summary ? summary.to - summary.from : 0,
            tokensBefore,
            tokensAfter,
          }
        }
        if (how.reason === 'threshold' && cleared.length > 0) {
          // Enough when the estimate of the cleared conversation is under the threshold.
          const window = (await tokens(sessionId)).window
          const after = await estimateAll(session, messages)
          if (window !== undefined && after <= window * threshold) return await finish()
        }
        const cut = summaryCut(messages, keepTurns)
        if (cut > 0) {
          const instructions = await session.compactInstructions(
            how.trigger,
            how.focus ? [`Focus on: ${how.focus}`] : [],
          )
          const response = await providers.complete(
            {
              model: providers.ref(session.model),
              messages: [
                { role: 'system', content: SUMMARY_SYSTEM },
                {
                  role: 'user',
                  content: summaryRequestText(renderForSummary(messages.slice(0, cut)), instructions),
                },
              ],
            },
            how.signal ? { signal: how.signal } : {},
          )
          const text = textOf(response.message).trim()
          if (text === '') {
            throw new TauError(
              SESSION_ERRORS.TAU_SESSION_COMPACTION_FAILED,
              'the summary call returned no text',
              {
                plugin: 'session',
              },
            )
          }
          summary = { from: 0, to: cut, message: summaryMessage(text, session.todos) }
          messages = applySummary(messages, summary)
        }
        return await finish()
      } finally {
        compacting.delete(sessionId)
      }
    }

    /** The estimate of a request with these messages (system prompt and tools included). */
    async function estimateAll(session: AgentSession, messages: readonly Message[]) {
      const system = await session.systemPrompt().then(estimateText, () => 0)
      const tools = toolRegistry
        ? estimateTools(toolRegistry.definitions(toolRegistry.list().map((t) => t.name)))
        : 0
      return system + tools + estimateMessages(messages)
    }

    hooks.compact.tapPromise(async ({ sessionId, reason, signal }) => {
      if (!ctx.config.compaction.auto) return undefined
      let before: TokenCount | undefined
      if (reason === 'threshold') {
        before = await tokens(sessionId)
        if (before.window === undefined || before.used <= before.window * ctx.config.compaction.threshold)
          return undefined
      }
      const result = await compactSession(sessionId, { trigger: 'auto', reason, signal }, before)
      if (result.clearedResults === 0 && result.summarizedMessages === 0) return undefined
      return { trigger: 'auto', reason, ...result }
    })

    async function compact(sessionId: string, focus?: string): Promise<CompactionResult> {
      if (sessionOf(sessionId)?.running) {
        throw new TauError(
          SESSION_ERRORS.TAU_SESSION_BUSY,
          `session ${sessionId} is running; compact between runs`,
          {
            plugin: 'session',
          },
        )
      }
      return compactSession(sessionId, { trigger: 'manual', reason: 'manual', ...(focus ? { focus } : {}) })
    }

    /** The JSONL store's file of a session; none when another store keeps them, or nothing is written. */
    function transcriptPath(sessionId: string): string | undefined {
      if (!persist || !jsonl) return undefined
      try {
        return jsonl.location(sessionId)
      } catch {
        return undefined // not an id a file can be named after
      }
    }

    const service: SessionService = {
      store,
      list: () => store.list(),
      resume,
      tokens,
      compact,
      transcriptPath,
    }
    ctx.provide(sessionServiceRef, service)

    ctx.provide(cliCommandsRef, {
      name: 'sessions',
      description: 'list the stored sessions of this project, newest first (id, start, title, turns, model)',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options, stdout, stderr }) {
        const sessions = await store.list()
        for (const session of sessions)
          for (const warning of session.warnings) stderr.write(`tau: warning: ${warning}\n`)
        if (options.json) {
          stdout.write(`${JSON.stringify(sessions, null, 2)}\n`)
          return 0
        }
        stdout.write(formatSessions(sessions))
        return 0
      },
    })

    return async () => {
      tracked.clear()
      originals.clear()
      await jsonl?.closeAll()
    }
  },
})

/** The text of `tau sessions`. */
export function formatSessions(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'No sessions in this project yet.\n'
  const rows = sessions.map((s) => [
    s.id,
    s.startedAt.replace('T', ' ').slice(0, 19),
    String(s.turns),
    s.model,
    `${s.title}${s.parent ? ` (fork of ${s.parent.id.slice(0, 8)})` : ''}${s.subagentOf ? ` (subagent of ${s.subagentOf.id.slice(0, 8)})` : ''}`,
  ])
  const header = ['ID', 'STARTED', 'TURNS', 'MODEL', 'TITLE']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return `${[line(header), ...rows.map(line)].join('\n')}\n`
}
