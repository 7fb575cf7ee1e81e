/** The `session.service` contract: list stored sessions, resume or fork one, count a session's tokens. */
import { type Conversation, defineService } from '../../kernel/index.js'
import type { InterruptedRun, Todo } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { TokenCount } from './tokens.js'
import type { SessionMeta, SessionSummary, TranscriptStore } from './transcript.js'

/** What `runtime.createSession()` needs to continue a stored session. */
export interface ResumeOptions {
  /** The stored session's id, or a new one for a fork. */
  readonly id: string
  /** The session's own settings (`mcpServers`, `sandbox`) from its log; see settings-log.ts. */
  readonly settings?: Readonly<Record<string, unknown>>
  readonly cwd: string
  readonly model: string
  readonly conversation: Conversation
  readonly todos: readonly Todo[]
  /** Undefined when the session never reached a model call (it is built afresh). */
  readonly systemPrompt?: string
  /** The last seq of the log: the session's events and records go on after it. */
  readonly lastSeq: number
  /** The mode the log last records (the session starts in it, unless told otherwise). */
  readonly permissionMode?: PermissionMode
  readonly loggedMode?: string
  /** The model the log last records (the meta's, or a later override). */
  readonly loggedModel: string
  /** Rules granted during the session, restored (session scope). */
  readonly sessionRules?: ReadonlyArray<{
    readonly rule: string
    readonly behavior: 'allow' | 'ask' | 'deny'
  }>
  /** The run the process stopped in: `AgentSession.continue()` goes on with it. */
  readonly interrupted?: InterruptedRun
}

export interface ResumePlan {
  readonly options: ResumeOptions
  /** The stored session's meta (for a fork: the parent's). */
  readonly from: SessionMeta
  /** Set for a fork: the session it was copied from. */
  readonly forkedFrom?: string
  /** What reading the transcript tolerated (a torn last line). */
  readonly warnings: readonly string[]
  /** Set when the log's last run has no end (the process stopped during it): its id. */
  readonly interrupted?: string
  /** How many tool calls in flight at the stop were answered (with an error, or their logged result). */
  readonly answered?: number
}

/** What a compaction did. */
export interface CompactionResult {
  /** Tool results replaced by a placeholder. */
  readonly clearedResults: number
  /** Messages replaced by the summary (0: no summary was made). */
  readonly summarizedMessages: number
  readonly tokensBefore: number
  readonly tokensAfter: number
}

export interface SessionService {
  readonly store: TranscriptStore
  /** The sessions of the project, newest first. */
  list(): Promise<SessionSummary[]>
  /**
   * Prepares a stored session to go on: `latest` is the newest. With `fork`, the transcript is
   * copied under a new id linked to its parent, and the copy goes on (the parent is untouched).
   * Takes the session's lease (released at the agent session's end). Tool calls the process
   * stopped in are answered in the log first. Throws TAU_SESSION_NOT_FOUND, TAU_SESSION_CORRUPT,
   * TAU_SESSION_LOCKED (another process has it).
   */
  resume(id: string | 'latest', options?: { readonly fork?: boolean }): Promise<ResumePlan>
  /** Tokens of an open agent session's next request, and the model's context window. */
  tokens(sessionId: string): Promise<TokenCount>
  /**
   * Compacts an open session now (`/compact [focus]`): clears old tool results, then summarises
   * the older turns with the model (`focus` and the preCompact hook's instructions guide it),
   * keeping the latest turns verbatim; recorded in the transcript. Throws TAU_SESSION_NOT_FOUND,
   * TAU_SESSION_BUSY (a run is going on), TAU_SESSION_COMPACTION_FAILED, or the model's error.
   */
  compact(sessionId: string, focus?: string): Promise<CompactionResult>
  /**
   * The file a session's transcript is written to, for programs that read it (command hooks'
   * `transcript_path`): `<session.dir>/<id>.jsonl` of the JSONL store, whether or not its first
   * line is written yet. Undefined with `persist: false`, or when another store keeps transcripts.
   */
  transcriptPath(sessionId: string): string | undefined
}

export const sessionServiceRef = defineService<SessionService>('session.service', {
  description: 'Stored agent sessions: list, resume, fork, token accounting.',
})
