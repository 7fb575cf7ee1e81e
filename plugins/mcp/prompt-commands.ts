/**
 * MCP prompts as slash commands: `/mcp__<server>__<prompt> args` (a `slash-commands` source).
 * The words of the argument text (quotes group words) fill the prompt's declared arguments in
 * order; `name=value` fills one by name; words past the last argument join it, so a prompt of
 * one argument takes the whole text. The `prompts/get` result becomes the prompt text.
 */
import { TauError } from '../../kernel/index.js'
import type { SlashCommand, SlashCommandSource } from '../slash-commands/index.js'
import { splitArguments } from '../slash-commands/index.js'
import { MCP_ERRORS } from './errors.js'
import type { PromptEntry, PromptMessages } from './resources.js'
import type { McpServers } from './servers.js'

/** `<required> [optional]`, as /help shows it. */
export function argumentHint(prompt: PromptEntry): string {
  return prompt.arguments.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(' ')
}

/** Binds the argument text to the prompt's declared arguments; a missing required one is a TauError. */
export function bindPromptArguments(prompt: PromptEntry, text: string): Record<string, string> {
  const declared = prompt.arguments.map((a) => a.name)
  const bound: Record<string, string> = {}
  const positional: string[] = []
  for (const word of text.trim() === '' ? [] : splitArguments(text)) {
    const eq = word.indexOf('=')
    const name = eq > 0 ? word.slice(0, eq) : undefined
    if (name !== undefined && declared.includes(name) && bound[name] === undefined)
      bound[name] = word.slice(eq + 1)
    else positional.push(word)
  }
  const open = declared.filter((name) => bound[name] === undefined)
  open.forEach((name, i) => {
    const last = i === open.length - 1
    const words = last ? positional.splice(0) : positional.splice(0, 1)
    if (words.length > 0) bound[name] = words.join(' ')
  })
  const usage = `/${prompt.command}${argumentHint(prompt) ? ` ${argumentHint(prompt)}` : ''}`
  if (positional.length > 0) {
    throw new TauError(
      MCP_ERRORS.TAU_MCP_PROMPT_ARGUMENTS,
      `/${prompt.command} takes no arguments, got '${positional.join(' ')}'`,
      { plugin: 'mcp', hint: `Use: ${usage}` },
    )
  }
  for (const argument of prompt.arguments) {
    if (argument.required && (bound[argument.name] === undefined || bound[argument.name] === '')) {
      throw new TauError(
        MCP_ERRORS.TAU_MCP_PROMPT_ARGUMENTS,
        `/${prompt.command} needs the argument '${argument.name}'${argument.description ? ` (${argument.description})` : ''}`,
        { plugin: 'mcp', hint: `Use: ${usage} (quote a value with spaces, or write ${argument.name}=value)` },
      )
    }
  }
  return bound
}

/**
 * A prompts/get result as one prompt text: text parts as they are, embedded text resources
 * inline under their `[resource uri]` line, images and other binary parts as a note (a slash
 * command's prompt is text). A prompt that is a conversation (assistant turns too) keeps each
 * message under its role.
 */
export function promptText(result: PromptMessages): string {
  const conversation = result.messages.some((m) => m.role !== 'user')
  return result.messages
    .map((message) => {
      const body = message.content
        .map((part) =>
          part.type === 'text'
            ? part.text
            : `[image ${part.mediaType}, not included: a slash command's prompt is text]`,
        )
        .join('\n\n')
      return conversation ? `[${message.role}]\n${body}` : body
    })
    .join('\n\n')
}

/** What prompt commands need of the servers. */
export type PromptServers = Pick<McpServers, 'prompts' | 'getPrompt'> &
  Partial<Pick<McpServers, 'whenStarted'>>

function command(servers: PromptServers, prompt: PromptEntry): SlashCommand {
  const hint = argumentHint(prompt)
  return {
    name: prompt.command,
    description:
      prompt.description ??
      prompt.title ??
      `the prompt '${prompt.name}' of the MCP server '${prompt.server}'`,
    ...(hint ? { argumentHint: hint } : {}),
    source: `mcp:${prompt.server}`,
    arguments: prompt.arguments,
    async expand(args, options) {
      const bound = bindPromptArguments(prompt, args)
      const result = await servers.getPrompt(prompt.server, prompt.name, bound, options?.signal)
      return promptText(result)
    },
  }
}

/**
 * The slash-commands source: the prompts of the servers connected at each listing. `servers` may
 * depend on the session listing (its own servers' prompts are its commands alone).
 */
export function promptCommandSource(
  servers: PromptServers | ((sessionId: string | undefined) => PromptServers),
): SlashCommandSource {
  return {
    name: 'mcp',
    async list(context) {
      const view = typeof servers === 'function' ? servers(context?.sessionId) : servers
      // A listing does not wait for servers still connecting (their tools may come from the
      // cache); looking for one of their prompts by name does.
      if (context?.name?.startsWith('mcp__')) await view.whenStarted?.()
      const prompts = await view.prompts()
      return { commands: prompts.map((prompt) => command(view, prompt)), problems: [] }
    },
  }
}
