/**
 * Slash commands: `/name arguments` typed by the user expands into a prompt for the model.
 * Commands come from sources other plugins provide (`slash-commands.sources`): this plugin's own
 * Markdown files (`.tau/commands`, `~/.tau/commands`), the MCP plugin's server prompts, and any
 * third-party plugin's. Frontends (the terminal, `tau start -p`) resolve a line through the
 * registry (`slash-commands.registry`). A command either expands into a prompt (`expand`) or acts
 * on the session itself (`run`: the built-in /help, /clear, /compact ... of the session-controller
 * plugin), run by the frontend's SessionController.
 */
import { defineService } from '../../kernel/index.js'

export interface SlashCommandArgument {
  readonly name: string
  readonly description?: string
  readonly required?: boolean
}

export interface ExpandOptions {
  /** Aborted when the user interrupts (an MCP prompt fetch is cancelled). */
  readonly signal?: AbortSignal
}

export interface SlashCommand {
  /** Without the slash: `review`, `mcp__github__summarize`. Unique across sources (first wins). */
  readonly name: string
  readonly description: string
  /** Shown after the name in /help: `[file] [focus]`. */
  readonly argumentHint?: string
  /** Where it comes from, for /help: `project`, `project:frontend`, `user`, `mcp:github`. */
  readonly source: string
  /** The file it was read from, when there is one. */
  readonly file?: string
  /** Declared arguments (MCP prompts declare them), in order. */
  readonly arguments?: readonly SlashCommandArgument[]
  /**
   * A prompt command: the prompt to send for the text after the command name. Throws a TauError
   * when the arguments do not fit (a required MCP prompt argument missing, say): frontends show it.
   */
  expand?(args: string, options?: ExpandOptions): Promise<string>
  /**
   * A session command: acts on the session (a SessionController runs it) instead of sending a
   * prompt. A command has `expand` or `run`.
   */
  run?(args: string, context: CommandContext): Promise<void>
}

/** What a session command gets from the SessionController that runs it. */
export interface CommandContext {
  /** The session the command acts on. */
  readonly sessionId: string
  /** Aborted when the user interrupts. */
  readonly signal: AbortSignal
  /** Output for the user: a line in the terminal, an event over SSE. */
  say(text: string, tone?: 'info' | 'success' | 'warn' | 'error' | 'dim'): void
}

export interface SlashCommandList {
  readonly commands: readonly SlashCommand[]
  /** What could not be loaded or was shadowed, each naming its file or source. */
  readonly problems: readonly string[]
}

/** Whom a listing is for: a source may offer a session commands of its own (its MCP servers' prompts). */
export interface ListContext {
  readonly sessionId?: string
  /** The command looked for (find, expand): a source still loading its commands may wait for them. */
  readonly name?: string
}

/** A plugin's contribution: listed again at every `list()` (servers and files change). */
export interface SlashCommandSource {
  /** Shown in problems: `command files`, `mcp`. */
  readonly name: string
  /** Built-in commands: listed before every other source, so no file can shadow them. */
  readonly builtin?: boolean
  list(context?: ListContext): SlashCommandList | Promise<SlashCommandList>
}

export const slashCommandSourceRef = defineService<SlashCommandSource, 'root', true>(
  'slash-commands.sources',
  {
    multiple: true,
    description:
      'Sources of slash commands (command files, MCP prompts, plugins); many plugins may provide one.',
  },
)

export interface ResolvedCommand {
  readonly command: SlashCommand
  /** The text after the name, as typed. */
  readonly args: string
}

export interface SlashCommands {
  /** Every command of every source; on a name clash the first source wins (files before MCP). */
  list(context?: ListContext): Promise<SlashCommandList>
  /**
   * The command a line names (`/review src/a.ts`), or undefined when the line is not a slash
   * command or names no command any source has.
   */
  find(line: string, context?: ListContext): Promise<ResolvedCommand | undefined>
  /**
   * `find()` then `expand()`: the prompt for a line, or undefined when it names no command or a
   * session command (`run`; a SessionController runs those).
   */
  expand(
    line: string,
    options?: ExpandOptions & ListContext,
  ): Promise<{ command: SlashCommand; prompt: string } | undefined>
}

export const slashCommandsRef = defineService<SlashCommands>('slash-commands.registry', {
  description: 'Lists slash commands from every source and expands `/name args` into a prompt.',
})
