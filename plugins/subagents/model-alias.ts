/**
 * Claude Code's model aliases (`sonnet`, `opus`, `haiku`) as tau's `provider:model`, for
 * `--model`, `--fallback-model`, agent definitions and the Task tool's `model` parameter: one
 * table, so an alias means the same everywhere. The headless plugin re-exports it.
 */

/** Claude Code's aliases, to the models they stood for when this was written; override in config or env. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  sonnet: 'anthropic:claude-sonnet-4-5',
  opus: 'anthropic:claude-opus-4-1',
  haiku: 'anthropic:claude-haiku-4-5',
}

/** Claude Code's environment variables that choose what an alias means. */
const ALIAS_ENV: Readonly<Record<string, string>> = {
  sonnet: 'ANTHROPIC_DEFAULT_SONNET_MODEL',
  opus: 'ANTHROPIC_DEFAULT_OPUS_MODEL',
  haiku: 'ANTHROPIC_DEFAULT_HAIKU_MODEL',
}

/** A model name as a ref, and where the meaning came from (`builtin`: tau's table, nobody chose it). */
export interface AliasedModel {
  readonly ref: string
  readonly from: 'config' | 'env' | 'builtin' | 'name'
}

/**
 * A model name as tau's `provider:model`: an alias (config `headless.modelAliases` first, then
 * Claude Code's env variables, then the built-in table), a bare `claude-...` name (Anthropic),
 * or a ref as given.
 */
export function aliasedModel(
  value: string,
  aliases: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
): AliasedModel {
  // Own keys only: `constructor` or `toString` is a model name, not Object.prototype's.
  const configured = Object.hasOwn(aliases, value) ? aliases[value] : undefined
  if (configured !== undefined) return { ref: configured, from: 'config' }
  const envName = Object.hasOwn(ALIAS_ENV, value) ? ALIAS_ENV[value] : undefined
  const fromEnv = envName === undefined ? undefined : env[envName]
  if (fromEnv) return { ref: fromEnv.includes(':') ? fromEnv : `anthropic:${fromEnv}`, from: 'env' }
  const builtIn = Object.hasOwn(MODEL_ALIASES, value) ? MODEL_ALIASES[value] : undefined
  if (builtIn !== undefined) return { ref: builtIn, from: 'builtin' }
  if (!value.includes(':') && value.startsWith('claude-')) return { ref: `anthropic:${value}`, from: 'name' }
  return { ref: value, from: 'name' }
}

/** `--model` as tau's `provider:model` (see aliasedModel). */
export function resolveModel(
  value: string,
  aliases: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv,
): string {
  return aliasedModel(value, aliases, env).ref
}

/** The `headless.modelAliases` of a raw config (the one alias table), or none; bad entries are left out. */
export function configuredAliases(rootConfig: Readonly<Record<string, unknown>>): Record<string, string> {
  const headless = rootConfig.headless as { modelAliases?: unknown } | undefined
  const table = headless?.modelAliases
  if (table === null || typeof table !== 'object' || Array.isArray(table)) return {}
  return Object.fromEntries(
    Object.entries(table as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  )
}
