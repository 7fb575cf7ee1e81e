/**
 * The one error catalogue of tau. Every error the kernel raises has a code here, a message
 * template and a "how to solve" line; docs/errors.md is checked against this table by a test.
 *
 * Errors are stamped with the plugin (and hook) they came from: a plugin author's throw inside
 * setup or a tap becomes a TauError that says whose it was, without losing the original as `cause`.
 */

export interface ErrorSpec {
  /** One-line summary of what went wrong, used in docs. */
  readonly title: string
  /** What the user should do about it. */
  readonly hint: string
  /** True when the error is the user's input (config, CLI), so no stack trace is shown. */
  readonly userError: boolean
}

export const ERRORS = {
  TAU_CONFIG_NOT_FOUND: {
    title: 'The config file given with --config does not exist',
    hint: 'Check the path, or drop --config to let tau search upward from the working directory.',
    userError: true,
  },
  TAU_CONFIG_LOAD: {
    title: 'The config file could not be loaded (syntax error, or it threw while evaluating)',
    hint: 'Fix the file at the position shown; run with --debug to see the full stack.',
    userError: true,
  },
  TAU_CONFIG_SHAPE: {
    title: 'The config file does not export a config object',
    hint: 'Export the config as the default export: `export default defineConfig({ ... })`.',
    userError: true,
  },
  TAU_CONFIG_INVALID: {
    title: 'The config has values of the wrong type or shape',
    hint: "Correct each field listed; a plugin's config reference is in docs/config.md.",
    userError: true,
  },
  TAU_CONFIG_UNKNOWN_KEY: {
    title: 'The config has a key that no kernel option or loaded plugin reads',
    hint: 'Fix the spelling, or add the plugin that reads this key to `plugins`.',
    userError: true,
  },
  TAU_PRESET_UNKNOWN: {
    title: 'The preset named in config or on the command line does not exist',
    hint: 'Use one of the listed presets, or import a preset object made with definePreset().',
    userError: true,
  },
  TAU_PRESET_CYCLE: {
    title: 'Presets extend each other in a cycle',
    hint: 'Remove one of the `extends` links so the chain ends.',
    userError: true,
  },
  TAU_PLUGIN_NOT_FOUND: {
    title: 'A plugin named in config could not be found',
    hint: 'Check the path (relative to the config file) or install the package (`npm install tau-plugin-NAME`).',
    userError: true,
  },
  TAU_PLUGIN_INVALID: {
    title: 'A plugin entry is not a plugin made with definePlugin()',
    hint: 'Export `definePlugin({ ... })` (or a function returning one) as the default export of the module.',
    userError: true,
  },
  TAU_PLUGIN_DUPLICATE: {
    title: 'Two plugins have the same name',
    hint: 'Rename one, or remove one of them. A plugin in `plugins` replaces a preset plugin of the same name; two in one list is a mistake.',
    userError: true,
  },
  TAU_PLUGIN_DISABLE_UNKNOWN: {
    title: '`disablePlugins` names a plugin that is not in the resolved list',
    hint: 'Use one of the plugin names shown by `tau plugins`.',
    userError: true,
  },
  TAU_CONFIG_KEY_CONFLICT: {
    title: 'Two plugins read the same config key',
    hint: 'Give one of them another configKey, or leave one out (disablePlugins, or replace it by name).',
    userError: true,
  },
  TAU_DEPENDENCY_MISSING: {
    title: 'A plugin depends on a plugin that is not loaded',
    hint: 'Add the missing plugin to `plugins`, or use a preset that includes it.',
    userError: true,
  },
  TAU_DEPENDENCY_CYCLE: {
    title: 'Plugins depend on each other in a cycle',
    hint: 'Break the cycle: move the shared part into a third plugin both depend on, or make one dependency optional.',
    userError: true,
  },
  TAU_CONFIGURE_FAILED: {
    title: "A plugin's configure() threw",
    hint: 'This is a bug in the plugin, or config it cannot handle; the cause is shown below.',
    userError: false,
  },
  TAU_SETUP_FAILED: {
    title: "A plugin's setup() threw",
    hint: 'See the cause below; fix the plugin or its config. Plugins set up before it were stopped cleanly.',
    userError: false,
  },
  TAU_SETUP_TIMEOUT: {
    title: "A plugin's setup() did not finish in time",
    hint: 'Setup must be quick: did you await something that never settles, or connect to a server in setup? Move slow work to a `start` tap or to first use.',
    userError: false,
  },
  TAU_START_FAILED: {
    title: 'A start or ready tap threw',
    hint: 'See the cause below. Every plugin that was set up has been stopped.',
    userError: false,
  },
  TAU_TEARDOWN_FAILED: {
    title: "One or more plugins' teardown threw or timed out",
    hint: 'The other plugins were still stopped. Fix the failing teardown; it must not throw and must finish in time.',
    userError: false,
  },
  TAU_HOOK_FAILED: {
    title: 'A tap on a hook threw',
    hint: "The error names the plugin whose tap threw and the hook; see the cause for that plugin's message.",
    userError: false,
  },
  TAU_HOOKS_DUPLICATE: {
    title: 'A hook set was declared twice',
    hint: 'Only one plugin may declare a hook set; tap it from the others with ctx.hooksOf(ref).',
    userError: false,
  },
  TAU_HOOKS_NOT_DECLARED: {
    title: 'A plugin taps a hook set that no plugin has declared (yet)',
    hint: 'Add the plugin that declares these hooks to your dependsOn, so it sets up first.',
    userError: false,
  },
  TAU_SERVICE_DUPLICATE: {
    title: 'A service was provided twice',
    hint: 'Two plugins provide the same single-valued service: remove one, or declare the ref with { multiple: true }.',
    userError: false,
  },
  TAU_SERVICE_MISSING: {
    title: 'A service was resolved that no plugin provides',
    hint: 'Add the plugin that provides it to dependsOn (so it sets up first) and to your plugins.',
    userError: false,
  },
  TAU_SERVICE_SCOPE: {
    title: 'A service was used in the wrong scope',
    hint: 'Session services are resolved from a session (kernel.createSession()), root services from the kernel or ctx.resolve().',
    userError: false,
  },
  TAU_SESSION_SETTINGS_INVALID: {
    title: "A session's settings do not fit the config schema of the plugin they are for",
    hint: "Per-session settings are keyed by a plugin's config key (e.g. sandbox, mcp) and checked by that plugin's schema, as in tau.config.ts: correct the field named, or drop the key.",
    userError: true,
  },
  TAU_KERNEL_STATE: {
    title: 'A kernel method was called in the wrong lifecycle state',
    hint: 'Call start() once before using services or sessions, and do not use a stopped kernel.',
    userError: false,
  },
  TAU_FRONTEND_FAILED: {
    title: "The preset's frontend failed",
    hint: 'See the cause below; run with --debug for the full stack.',
    userError: false,
  },
  TAU_CLI_USAGE: {
    title: 'The command line is not valid',
    hint: 'Run `tau --help` or `tau COMMAND --help` for the accepted options.',
    userError: true,
  },
} as const satisfies Record<string, ErrorSpec>

/** The kernel's own codes. Plugins add theirs with defineErrors(). */
export type KernelErrorCode = keyof typeof ERRORS

/**
 * An error code: a kernel code, or one a plugin declared with defineErrors(). Kept a string so
 * plugin catalogues need no global type augmentation.
 */
export type ErrorCode = KernelErrorCode | (string & {})

export interface CatalogueEntry extends ErrorSpec {
  /** `kernel`, or the plugin that declared the code. */
  readonly owner: string
}

// The catalogue is static data (codes and texts), so one module-level table is right here:
// unlike hooks it holds no state of a running kernel.
const catalogue = new Map<string, CatalogueEntry>(
  Object.entries(ERRORS).map(([code, spec]) => [code, { ...spec, owner: 'kernel' }]),
)

const CODE = /^TAU_[A-Z0-9_]+$/

/**
 * Adds a plugin's error codes to the one catalogue: `TAU_<AREA>_<WHAT>`, each with a title and a
 * hint. Returns the codes, for typed use: `const E = defineErrors('providers', { ... })`,
 * then `new TauError(E.TAU_PROVIDER_AUTH, ...)`. Declaring a code twice with other texts throws.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(
  owner: string,
  specs: T,
): { readonly [K in keyof T]: K } {
  const codes: Record<string, string> = {}
  for (const [code, spec] of Object.entries(specs)) {
    if (!CODE.test(code))
      throw new TypeError(`defineErrors('${owner}'): '${code}' is not of the form TAU_AREA_WHAT`)
    const existing = catalogue.get(code)
    if (
      existing &&
      (existing.owner !== owner || existing.title !== spec.title || existing.hint !== spec.hint)
    ) {
      throw new TypeError(`defineErrors('${owner}'): '${code}' is already declared by '${existing.owner}'`)
    }
    catalogue.set(code, { ...spec, owner })
    codes[code] = code
  }
  return Object.freeze(codes) as { readonly [K in keyof T]: K }
}

/** Every code declared so far: the kernel's and those of every plugin module loaded. */
export function errorCatalogue(): ReadonlyMap<string, CatalogueEntry> {
  return catalogue
}

const TAU_ERROR = Symbol.for('tau.error')

export interface TauErrorOptions {
  /** The plugin the error belongs to. */
  plugin?: string
  /** The hook whose tap raised it. */
  hook?: string
  /** The file involved (config file, plugin module). */
  file?: string
  /** Extra lines shown under the message, e.g. one per config problem. */
  details?: readonly string[]
  /** Overrides the catalogue's hint where a more precise one is known. */
  hint?: string
  cause?: unknown
}

/** The error type of tau. Brand-checked with isTauError() so two copies of tau still agree. */
export class TauError extends Error {
  readonly code: ErrorCode
  readonly plugin: string | undefined
  readonly hook: string | undefined
  readonly file: string | undefined
  readonly details: readonly string[]
  readonly hint: string
  readonly userError: boolean
  /** The message without the details and the cause (formatError prints those on lines of their own). */
  readonly summary: string

  constructor(code: ErrorCode, message: string, options: TauErrorOptions = {}) {
    // The message carries the details and the cause too, so that whoever prints only
    // error.message (a test failing, a caller's log) sees what went wrong, not just that it did.
    super(fullMessage(message, options), options.cause === undefined ? undefined : { cause: options.cause })
    this.summary = message
    this.name = 'TauError'
    this.code = code
    this.plugin = options.plugin
    this.hook = options.hook
    this.file = options.file
    this.details = options.details ?? []
    const spec = catalogue.get(code)
    this.hint = options.hint ?? spec?.hint ?? 'Run with --debug to see where it came from.'
    this.userError = spec?.userError ?? false
    Object.defineProperty(this, TAU_ERROR, { value: true })
  }
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim()

/** A cause worth adding to a message: not a TauError (it says its own), not already said. */
function extraCause(message: string, cause: unknown): string | undefined {
  if (cause === undefined || isTauError(cause)) return undefined
  const text = messageOf(cause)
  return text === '' || squash(message).includes(squash(text)) ? undefined : text
}

function fullMessage(message: string, options: TauErrorOptions): string {
  const details = options.details ?? []
  const cause = extraCause(message, options.cause)
  if (details.length === 0 && cause === undefined) return message
  const lines = [message, ...details.map((detail) => `  - ${detail}`)]
  if (cause !== undefined) lines.push(`  cause: ${cause}`)
  return lines.join('\n')
}

export function isTauError(value: unknown): value is TauError {
  return typeof value === 'object' && value !== null && TAU_ERROR in value
}

/** The message of any thrown value, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/**
 * Stamps an error with the plugin (and hook) it came from. A TauError that already names a
 * plugin is passed through unchanged, so the innermost owner wins.
 */
export function stampError(error: unknown, code: ErrorCode, plugin: string, hook?: string): TauError {
  if (isTauError(error) && error.plugin !== undefined) return error
  const where = hook === undefined ? `plugin '${plugin}'` : `plugin '${plugin}' (hook ${hook})`
  const options: TauErrorOptions = { plugin, cause: error }
  if (hook !== undefined) options.hook = hook
  if (isTauError(error)) {
    // A kernel error raised on the plugin's behalf (a missing service, say): keep its code and hint.
    return new TauError(error.code, `${where}: ${error.summary ?? error.message}`, {
      ...options,
      details: error.details,
    })
  }
  return new TauError(code, `${where}: ${messageOf(error)}`, options)
}

/**
 * Renders an error for a person: the message, the details, the hint, and the stack only
 * when asked (--debug) or when the error is a bug rather than the user's input.
 */
export function formatError(error: unknown, options: { debug?: boolean } = {}): string {
  const lines: string[] = []
  if (isTauError(error)) {
    // A TauError made elsewhere (another copy of the kernel) may lack summary: its message then.
    const summary = typeof error.summary === 'string' ? error.summary : error.message
    lines.push(`error ${error.code}: ${summary}`)
    if (error.file !== undefined && !summary.includes(error.file)) lines.push(`  in ${error.file}`)
    for (const detail of error.details) lines.push(`  - ${detail}`)
    const cause = extraCause(summary, error.cause)
    if (cause !== undefined) lines.push(`  cause: ${cause}`)
    lines.push(`  hint: ${error.hint}`)
    if (options.debug) {
      if (error.stack) lines.push('', error.stack)
      if (error.cause instanceof Error && error.cause.stack) lines.push('', `cause: ${error.cause.stack}`)
    }
    return lines.join('\n')
  }
  if (error instanceof Error) {
    lines.push(`error: ${error.message}`)
    if (options.debug && error.stack) lines.push('', error.stack)
    else lines.push('  hint: run with --debug to see where it came from.')
    return lines.join('\n')
  }
  return `error: ${messageOf(error)}`
}
