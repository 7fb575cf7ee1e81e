/** What a model call cost, from the model's prices per million tokens. */
import type { ModelCapabilities, Usage } from '../../kernel/index.js'

export type Pricing = NonNullable<ModelCapabilities['pricing']>

/**
 * USD for one call. `inputTokens` counts the whole prompt, cached parts included, so the
 * uncached part is what remains after cache reads and writes; those are priced at their own
 * rates where the model has them, else at the input price.
 */
export function costOf(usage: Usage, pricing: Pricing): number {
  const cacheRead = usage.cacheReadTokens ?? 0
  const cacheWrite = usage.cacheWriteTokens ?? 0
  const plainInput = Math.max(0, usage.inputTokens - cacheRead - cacheWrite)
  const micro =
    plainInput * pricing.input +
    cacheRead * (pricing.cacheRead ?? pricing.input) +
    cacheWrite * (pricing.cacheWrite ?? pricing.input) +
    usage.outputTokens * pricing.output
  return micro / 1_000_000
}
