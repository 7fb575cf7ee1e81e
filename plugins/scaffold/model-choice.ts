/**
 * The model `tau init` puts in the config, from what `tau doctor` would find: a local model, a
 * running Ollama, a provider whose key is set. Asks the providers themselves (listModels, with a
 * short deadline), so it knows whatever providers are loaded, and never sends a prompt.
 */
import type { ProviderRegistry } from '../providers/index.js'
import type { ModelChoice } from './init-files.js'

/** Default models for providers that are set up by a key (their model list is not needed). */
const KEYED_DEFAULTS: Readonly<Record<string, string>> = {
  anthropic: 'claude-sonnet-4-5',
  openai: 'gpt-4o',
}

/** Providers tried first, in this order; every other configured one after them. */
const PREFERENCE = ['local', 'ollama', 'anthropic', 'openai']

const LIST_TIMEOUT_MS = 1500

export async function chooseModel(
  registry: ProviderRegistry | undefined,
  signal: AbortSignal,
): Promise<ModelChoice> {
  if (!registry) return { ref: undefined, reason: 'No model providers are loaded' }
  const providers = registry.list()
  const ordered = [
    ...PREFERENCE.flatMap((name) => providers.filter((p) => p.name === name)),
    ...providers.filter((p) => !PREFERENCE.includes(p.name) && p.name !== 'scripted'),
  ]
  for (const provider of ordered) {
    const configured = registry.isConfigured(provider.name)
    const keyed = KEYED_DEFAULTS[provider.name]
    if (keyed && configured)
      return {
        ref: `${provider.name}:${keyed}`,
        reason: `Chosen by \`tau init\`: ${provider.name} is set up`,
      }
    // A local server answers without being configured (Ollama on its default port).
    if (!provider.listModels || (!configured && provider.name !== 'ollama' && provider.name !== 'local'))
      continue
    // A timer of its own, not AbortSignal.timeout inside AbortSignal.any: on Node 20 a garbage
    // collection takes that timeout signal before it fires, and the list waits for good (see
    // plugins/tools/deadline.ts).
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), LIST_TIMEOUT_MS)
    try {
      const models = await provider.listModels({ signal: AbortSignal.any([signal, timeout.signal]) })
      const first = models[0]
      if (first)
        return {
          ref: `${first.ref.provider}:${first.ref.model}`,
          reason: `Chosen by \`tau init\`: ${provider.name} has it (${models.length} model${models.length === 1 ? '' : 's'} found)`,
        }
    } catch {
      // not running, or not reachable: try the next
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    ref: undefined,
    reason: 'No model was found by `tau init` (no local model, no Ollama running, no API key set)',
  }
}
