/**
 * Token accounting and compaction of an open session (`session.service`'s tokens() and compact(),
 * and the agent's `compact` hook): the tokens of the next request (the last reported usage plus
 * an estimate of what came after it), and compacting the conversation: old tool results cleared,
 * then older turns summarised by the model (the plan and the summary's text are compaction.ts's),
 * recorded in the transcript.
 */
import {
  Conversation,
  type Logger,
  type Message,
  type TapView,
  TauError,
  textOf,
} from '../../kernel/index.js'
import type { AgentHooks, AgentSession, CompactionInfo } from '../agent/index.js'
import type { ProviderRegistry } from '../providers/index.js'
import type { ToolRegistry } from '../tools/index.js'
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
import type { SessionConfig } from './config.js'
import { SESSION_ERRORS } from './errors.js'
import type { Recorder } from './recorder.js'
import type { CompactionResult } from './service.js'
import { contextOf, estimateMessages, estimateText, estimateTools, type TokenCount } from './tokens.js'
import type { RecordBody } from './transcript.js'

export interface CompactorDeps {
  readonly hooks: TapView<AgentHooks>
  readonly recorder: Recorder
  readonly sessionOf: (id: string) => AgentSession | undefined
  readonly providers: ProviderRegistry
  readonly toolRegistry: ToolRegistry | undefined
  readonly config: SessionConfig['compaction']
  readonly logger: Logger
  /** Whether this run writes transcripts (a compaction is recorded). */
  readonly persist: boolean
}

export interface Compactor {
  tokens(sessionId: string): Promise<TokenCount>
  compact(sessionId: string, focus?: string): Promise<CompactionResult>
}

/** The service's tokens() and compact(); taps the agent's `compact` hook (automatic compaction). */
export function setupCompaction({
  hooks,
  recorder,
  sessionOf,
  providers,
  toolRegistry,
  config,
  logger,
  persist,
}: CompactorDeps): Compactor {
  const { tracked, write } = recorder

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
      const { threshold, keepToolResults, keepTurns } = config
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
        logger.debug('compacted', { sessionId, cleared: cleared.length, summarized: summary?.to ?? 0 })
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
    if (!config.auto) return undefined
    let before: TokenCount | undefined
    if (reason === 'threshold') {
      before = await tokens(sessionId)
      if (before.window === undefined || before.used <= before.window * config.threshold) return undefined
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

  return { tokens, compact }
}
