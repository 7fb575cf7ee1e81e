/** Which model to use, what it can do, and what a call cost. */

/** `provider:model`, e.g. `ollama:qwen3:8b` (the model part may itself contain colons). */
export interface ModelRef {
  readonly provider: string
  readonly model: string
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string }

const PROVIDER = /^[a-z][a-z0-9-]*$/

export function parseModelRef(text: string): ParseResult<ModelRef> {
  const at = text.indexOf(':')
  if (at <= 0 || at === text.length - 1) {
    return {
      ok: false,
      error: `'${text}' is not a model ref: write it as 'provider:model', e.g. 'ollama:qwen3:8b' or 'openai:gpt-4o'`,
    }
  }
  const provider = text.slice(0, at)
  if (!PROVIDER.test(provider)) {
    return {
      ok: false,
      error: `'${provider}' is not a provider name: use lowercase letters, digits and hyphens`,
    }
  }
  return { ok: true, value: { provider, model: text.slice(at + 1) } }
}

export function formatModelRef(ref: ModelRef): string {
  return `${ref.provider}:${ref.model}`
}

/**
 * Tokens a call used. Providers fill what they report; the rest stays undefined.
 * `inputTokens` counts the whole prompt, cached parts included (so it measures the context
 * window); `cacheReadTokens` and `cacheWriteTokens` say how much of it the cache served or stored.
 */
export interface Usage {
  inputTokens: number
  outputTokens: number
  /** Input tokens served from a prompt cache. */
  cacheReadTokens?: number
  /** Input tokens written to a prompt cache. */
  cacheWriteTokens?: number
  /** Output tokens spent on reasoning, where reported separately. */
  reasoningTokens?: number
}

export function addUsage(a: Usage, b: Usage): Usage {
  const sum = (x?: number, y?: number) =>
    x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0)
  const out: Usage = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  }
  const cacheRead = sum(a.cacheReadTokens, b.cacheReadTokens)
  const cacheWrite = sum(a.cacheWriteTokens, b.cacheWriteTokens)
  const reasoning = sum(a.reasoningTokens, b.reasoningTokens)
  if (cacheRead !== undefined) out.cacheReadTokens = cacheRead
  if (cacheWrite !== undefined) out.cacheWriteTokens = cacheWrite
  if (reasoning !== undefined) out.reasoningTokens = reasoning
  return out
}

/** What a model can do. The agent asks these, never a model's name. */
export interface ModelCapabilities {
  /** Context window in tokens. */
  contextWindow: number
  /** Largest answer in tokens, where known. */
  maxOutputTokens?: number
  /** Native tool calling. Without it the provider falls back to tools described in the prompt. */
  tools: boolean
  /** Image input. */
  vision: boolean
  /** Reasoning / thinking output. */
  reasoning: boolean
  /** Structured output constrained by a JSON schema. */
  structuredOutput?: boolean
  /** Prices per million tokens in USD, where known. */
  pricing?: { input: number; output: number; cacheRead?: number; cacheWrite?: number }
}

/** Why a model stopped. */
export type FinishReason = 'stop' | 'tool-calls' | 'length' | 'content-filter' | 'error' | 'aborted'

export interface ModelInfo {
  readonly ref: ModelRef
  readonly displayName?: string
  readonly capabilities?: Partial<ModelCapabilities>
}
