/** What a run (run.ts) needs from its session, and the shape of the events it emits. */
import type { ModelCapabilities } from '../../kernel/index.js'
import type { AgentConfig } from './config.js'
import type { AgentEvent } from './events.js'
import type { ToolCallHost } from './tool-calls.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** An event without the fields every event carries. */
export type EventBody = DistributiveOmit<
  AgentEvent,
  'sessionId' | 'parentToolCallId' | 'seq' | 'eventId' | 'timestamp' | 'runId'
>

/** What a run needs from its session. */
export interface RunHost extends ToolCallHost {
  readonly cwd: string
  readonly modelText: string
  readonly modelRef: import('../../kernel/index.js').ModelRef
  readonly config: AgentConfig
  readonly providers: import('../providers/index.js').ProviderRegistry
  /** The conversation: read at the start of each call, replaced as the run appends. */
  readonly conversation: import('../../kernel/index.js').Conversation
  /** Appends a message to the conversation and waits for the messageAppended taps. */
  append(message: import('../../kernel/index.js').Message): Promise<void>
  capabilities(): Promise<ModelCapabilities | undefined>
  /** Fires sessionStart and emits session-start on the first run. */
  begin(emit: (event: EventBody) => void): Promise<void>
  /** The system prompt: built once per session (a stable prefix, so prompt caches hit). */
  systemPrompt(): Promise<string>
  /** Tool definitions the model sees. */
  toolDefinitions(): import('../../kernel/index.js').ToolDefinition[]
  /** Aborted when the kernel stops. */
  readonly kernelSignal: AbortSignal
  /** The next position in the session's sequence (events and log records). */
  nextSeq(): number
  /** Logs the mode, the model and rules granted since the last time, when they changed. */
  logState(runId: string): Promise<void>
  /** Emit `model-stream` events. */
  readonly streamEvents: boolean
}
