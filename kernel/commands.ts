/**
 * Plugins add `tau` subcommands (`tau doctor`, `tau sessions`, `tau mcp list`, ...) by providing
 * this many-valued service. The CLI sets the kernel up, finds the command, and runs it; the
 * kernel is started first only when the command says it needs to be.
 */
import { defineService } from './services.js'

export interface CliArgument {
  /** `<name>` (required), `[name]` (optional), `[names...]` (rest). */
  readonly name: string
  readonly description?: string
}

export interface CliOption {
  /** Commander-style flags, e.g. `--json` or `-n, --limit <count>`. */
  readonly flags: string
  readonly description: string
  readonly default?: string | boolean
}

export interface CliCommandContext {
  /** Positional arguments, in the order declared. */
  readonly args: readonly (string | string[] | undefined)[]
  /** Parsed options, camelCased (`--max-turns` -> `maxTurns`). */
  readonly options: Readonly<Record<string, unknown>>
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  readonly stdin: NodeJS.ReadableStream
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal
}

export interface CliCommand {
  /** One word, or two for a subcommand (`'mcp list'`). */
  readonly name: string
  readonly description: string
  readonly arguments?: readonly CliArgument[]
  readonly options?: readonly CliOption[]
  /** `'setup'` (default): plugins are set up, not started. `'start'`: the kernel is started first. */
  readonly needs?: 'setup' | 'start'
  /**
   * The command ends its own work when `signal` aborts (a worker finishing or handing back its
   * runs): the first SIGINT/SIGTERM then aborts `signal` only, and the kernel stops once the
   * command has returned. Without it the kernel stops at once (its plugins' runs abort). A second
   * signal exits at once either way.
   */
  readonly stopsOnSignal?: boolean
  /** Returns the exit code (default 0). Throw a TauError for a clear failure message. */
  run(context: CliCommandContext): Promise<number | undefined | void>
}

export const cliCommandsRef = defineService<CliCommand, 'root', true>('kernel.commands', {
  multiple: true,
  description: 'Subcommands of `tau` that plugins add.',
})
