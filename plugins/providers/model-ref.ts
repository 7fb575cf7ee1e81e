/**
 * A model ref checked against the providers that are loaded, with the ref the user probably
 * meant: `gpt-4o` (no provider) -> `openai:gpt-4o`, `qwen3:8b` -> `ollama:qwen3:8b` (found in the
 * capability catalogue), `opnai:gpt-4o` -> `openai:gpt-4o` (a typo of a provider's name).
 */
import { closest, parseModelRef } from '../../kernel/index.js'
import { CATALOG } from './catalog.js'
import type { ProviderCheck } from './provider.js'

/** `provider:text` for the first loaded provider whose catalogue entries know the model `text`. */
function fromCatalogue(text: string, providers: readonly string[]): string | undefined {
  const name = text.toLowerCase().split('/').pop() ?? text
  for (const entry of CATALOG) {
    if (!entry.pattern.test(name)) continue
    const provider = entry.providers.find((p) => providers.includes(p))
    if (provider !== undefined) return `${provider}:${text}`
  }
  return undefined
}

/** What is wrong with `model` given the loaded `providers` (undefined: nothing). */
export function modelRefProblem(model: string, providers: readonly string[]): string | undefined {
  const parsed = parseModelRef(model)
  const loaded = `loaded providers: ${providers.join(', ') || '(none)'}`
  if (!parsed.ok) {
    const guess = fromCatalogue(model, providers)
    return guess === undefined ? `${parsed.error}; ${loaded}` : `${parsed.error}; did you mean '${guess}'?`
  }
  const { provider, model: name } = parsed.value
  if (providers.includes(provider)) return undefined
  // `qwen3:8b` is a whole model name whose provider was left out; `opnai:gpt-4o` a typo.
  const guess = fromCatalogue(model, providers)
  const typo = closest(provider, providers)
  const meant = guess ?? (typo === undefined ? undefined : `${typo}:${name}`)
  return `no provider named '${provider}' (in '${model}')${meant === undefined ? '' : `; did you mean '${meant}'?`}; ${loaded}`
}

/** `tau doctor`'s line for the model it checks. */
export function checkModel(model: string | undefined, providers: readonly string[]): ProviderCheck {
  if (model === undefined) {
    return {
      name: 'configured',
      ok: false,
      detail:
        'no model configured: set `model` in tau.config.ts (`tau init` writes one), or pass --model REF, e.g. --model ollama:qwen3:8b or --model openai:gpt-4o',
    }
  }
  const problem = modelRefProblem(model, providers)
  return problem === undefined
    ? { name: 'ref', ok: true, detail: model }
    : { name: 'ref', ok: false, detail: problem }
}
