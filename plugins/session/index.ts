/**
 * `session`: every agent session's conversation persisted as an append-only transcript (JSONL
 * files under `.tau/sessions/` by default; the store is the `session.store` service), written
 * before the loop goes on; resume and fork of stored sessions (`session.service`, used by
 * `tau start --continue / --resume ID / --fork-session`); token accounting; `tau sessions`.
 */
import { randomUUID } from 'node:crypto'
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
import { JsonlTranscriptStore } from './jsonl-store.js'
import { type CompactionResult, type ResumePlan, type SessionService, sessionServiceRef } from './service.js'
import { contextOf, estimateMessages, estimateText, estimateTools, type TokenCount } from './tokens.js'
import {
  replay,
  type SessionMeta,
  type SessionSummary,
  TRANSCRIPT_VERSION,
  type TranscriptRecord,
  titleOf,
  transcriptStoreRef,
} from './transcript.js'

export * from './compaction.js'
export { SESSION_ERRORS } from './errors.js'
export { JsonlTranscriptStore, parseTranscript } from './jsonl-store.js'
export {
  type CompactionResult,
  type ResumeOptions,
  type ResumePlan,
  type SessionService,
  sessionServiceRef,
} from './service.js'
export {
  CHARS_PER_TOKEN,
  estimateMessage,
  estimateMessages,
  estimateText,
  type TokenCount,
} from './tokens.js'
export * from './transcript.js'

export const sessionConfig = z.strictObject({
  /** Write transcripts (false: sessions are not persisted, and cannot be resumed). */
  persist: z.boolean().default(true),
  /** Where the JSONL store keeps transcripts; relative to the project directory. */
  dir: z.string().min(1).default('.tau/sessions'),
  /** Sync each record to disk before the loop goes on. */
  fsync: z.boolean().default(true),
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

export type SessionConfig = z.infer<typeof sessionConfig>

/** What the plugin knows of a session it writes. */
interface Tracked {
  /** The meta line is in the store. */
  written: boolean
  system: string | undefined
  todos: string
  lastUsage: { usage: Usage; messages: number } | undefined
}

export default definePlugin({
  name: 'session',
  description:
    'Session transcripts (JSONL under .tau/sessions/), resume and fork, token accounting, `tau sessions`',
  dependsOn: ['agent'],
  config: sessionConfig,
  setup(ctx) {
    const runtime = ctx.resolve(agentRuntimeRef)
    const hooks = ctx.hooksOf(agentHooksRef)
    const providers = ctx.resolve(providerRegistryRef)
    const toolRegistry = ctx.tryResolve(toolRegistryRef)
    const dir = isAbsolute(ctx.config.dir) ? ctx.config.dir : join(ctx.paths.projectDir, ctx.config.dir)
    // A plugin set up earlier may provide another store (SQLite, PostgreSQL); else the JSONL files.
    const provided = ctx.tryResolve(transcriptStoreRef)
    const jsonl = provided ? undefined : new JsonlTranscriptStore(dir, { fsync: ctx.config.fsync })
    const store = provided ?? jsonl!
    if (!provided) ctx.provide(transcriptStoreRef, store)
    const tracked = new Map<string, Tracked>()

    const sessionOf = (id: string): AgentSession | undefined => runtime.sessions().find((s) => s.id === id)

    /** The session's state; writes the meta line at its first message (the title is its prompt). */
    async function track(id: string, first: { role: string; content: unknown }): Promise<Tracked> {
      let state = tracked.get(id)
      if (state) return state
      state = { written: false, system: undefined, todos: '[]', lastUsage: undefined }
      tracked.set(id, state)
      if (await store.exists(id)) {
        // An agent session created with the id of a stored one, not through resume(): go on appending.
        state.written = true
        return state
      }
      const session = sessionOf(id)
      const meta: SessionMeta = {
        type: 'meta',
        version: TRANSCRIPT_VERSION,
        id,
        startedAt: new Date().toISOString(),
        cwd: session?.cwd ?? ctx.paths.cwd,
        model: session?.model ?? '',
        title: first.role === 'user' && typeof first.content === 'string' ? titleOf(first.content) : '',
        ...(session?.parent
          ? { subagentOf: { id: session.parent.sessionId, toolCallId: session.parent.toolCallId } }
          : {}),
      }
      await store.append(id, [meta])
      state.written = true
      return state
    }

    if (ctx.config.persist) {
      hooks.messageAppended.tapPromise(async ({ sessionId, message, index }) => {
        const state = await track(sessionId, message)
        const records: TranscriptRecord[] = [
          { type: 'message', index, at: new Date().toISOString(), message },
        ]
        if (message.role === 'tool') {
          const todos = sessionOf(sessionId)?.todos
          const text = JSON.stringify(todos ?? [])
          if (todos && text !== state.todos) {
            state.todos = text
            records.push({ type: 'todos', todos })
          }
        }
        await store.append(sessionId, records)
      })
      hooks.beforeModelCall.tapPromise(async (call) => {
        const session = sessionOf(call.sessionId)
        const state = tracked.get(call.sessionId)
        if (session && state) {
          const system = await session.systemPrompt()
          if (system !== state.system) {
            state.system = system
            await store.append(call.sessionId, [{ type: 'system', text: system }])
          }
        }
        return call
      })
      hooks.afterModelCall.tapPromise(async ({ sessionId, response }) => {
        const state = tracked.get(sessionId)
        const messages = sessionOf(sessionId)?.conversation.length
        if (!state || messages === undefined) return
        state.lastUsage = { usage: response.usage, messages }
        await store.append(sessionId, [{ type: 'usage', usage: response.usage, messages }])
      })
      hooks.sessionEnd.tapPromise(async ({ sessionId }) => {
        tracked.delete(sessionId)
        await store.close(sessionId)
      })
    } else {
      hooks.afterModelCall.tapPromise(async ({ sessionId, response }) => {
        const messages = sessionOf(sessionId)?.conversation.length
        if (messages === undefined) return
        const state = tracked.get(sessionId) ?? {
          written: false,
          system: undefined,
          todos: '[]',
          lastUsage: undefined,
        }
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
        const latest = (await store.list())[0]
        if (!latest) {
          throw new TauError(SESSION_ERRORS.TAU_SESSION_NOT_FOUND, `no stored session to continue (${dir})`, {
            plugin: 'session',
          })
        }
        target = latest.id
      }
      const read = await store.read(target)
      const state = replay(read.records, store.location(target))
      const base = {
        cwd: state.meta.cwd,
        model: state.meta.model,
        conversation: Conversation.of(state.messages),
        todos: state.todos,
        ...(state.systemPrompt === undefined ? {} : { systemPrompt: state.systemPrompt }),
      }
      const trackedState: Tracked = {
        written: true,
        system: state.systemPrompt,
        todos: JSON.stringify(state.todos),
        lastUsage: state.lastUsage,
      }
      if (!options.fork) {
        tracked.set(target, trackedState)
        return { options: { id: target, ...base }, from: state.meta, warnings: read.warnings }
      }
      const forkId = randomUUID()
      const now = new Date().toISOString()
      const copy: TranscriptRecord[] = [
        {
          type: 'meta',
          version: TRANSCRIPT_VERSION,
          id: forkId,
          startedAt: now,
          cwd: state.meta.cwd,
          model: state.meta.model,
          title: state.meta.title,
          parent: { id: target, messages: state.messages.length },
        },
        ...(state.systemPrompt === undefined ? [] : [{ type: 'system' as const, text: state.systemPrompt }]),
        ...state.messages.map((message, index) => ({ type: 'message' as const, index, at: now, message })),
        ...(state.todos.length > 0 ? [{ type: 'todos' as const, todos: state.todos }] : []),
        ...(state.lastUsage ? [{ type: 'usage' as const, ...state.lastUsage }] : []),
      ]
      if (persist) await store.append(forkId, copy)
      tracked.set(forkId, trackedState)
      return {
        options: { id: forkId, ...base },
        from: state.meta,
        forkedFrom: target,
        warnings: read.warnings,
      }
    }
    const persist = ctx.config.persist

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
          const record: TranscriptRecord = {
            type: 'compaction',
            at: new Date().toISOString(),
            trigger: how.trigger,
            reason: how.reason,
            cleared,
            ...(summary ? { summary } : {}),
            tokensBefore,
            tokensAfter,
          }
          if (persist && state?.written) await store.append(sessionId, [record])
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
