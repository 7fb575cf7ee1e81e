/**
 * `session`: every agent session's conversation persisted as an append-only transcript (JSONL
 * files under `.tau/sessions/` by default; the store is the `session.store` service), written
 * before the loop goes on; resume and fork of stored sessions (`session.service`, used by
 * `tau start --continue / --resume ID / --fork-session`); token accounting; `tau sessions`.
 */
import { randomUUID } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { Conversation, cliCommandsRef, definePlugin, TauError, type Usage } from '../../kernel/index.js'
import { agentHooksRef } from '../agent/hooks.js'
import { type AgentSession, agentRuntimeRef } from '../agent/runtime.js'
import { providerRegistryRef } from '../providers/index.js'
import { toolRegistryRef } from '../tools/tool.js'
import { SESSION_ERRORS } from './errors.js'
import { JsonlTranscriptStore } from './jsonl-store.js'
import { type ResumePlan, type SessionService, sessionServiceRef } from './service.js'
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

export { SESSION_ERRORS } from './errors.js'
export { JsonlTranscriptStore, parseTranscript } from './jsonl-store.js'
export { type ResumeOptions, type ResumePlan, type SessionService, sessionServiceRef } from './service.js'
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

    const service: SessionService = { store, list: () => store.list(), resume, tokens }
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
    `${s.title}${s.parent ? ` (fork of ${s.parent.id.slice(0, 8)})` : ''}`,
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
