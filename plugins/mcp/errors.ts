/** The MCP plugin's error codes, in tau's one catalogue. */
import { defineErrors } from '../../kernel/index.js'

export const MCP_ERRORS = defineErrors('mcp', {
  TAU_MCP_FILE_INVALID: {
    title: 'The project .mcp.json is not valid JSON or has a field of the wrong shape',
    hint: 'Fix the field named in the message; the shape is `{ "mcpServers": { "NAME": { "command": ..., "args": [...] } } }`.',
    userError: true,
  },
  TAU_MCP_LOGIN_FAILED: {
    title: '`tau mcp login` could not authorize tau with the MCP server',
    hint: 'Read the reason; check the server URL and its `oauth` settings, then run `tau mcp login NAME` again (`tau mcp logout NAME` first forgets a stale registration).',
    userError: true,
  },
  TAU_MCP_PROMPT_ARGUMENTS: {
    title: 'An MCP prompt slash command is missing a required argument, or got arguments it does not take',
    hint: 'Give the arguments in the order /help shows them (`<required> [optional]`), quoting values with spaces, or as name=value.',
    userError: true,
  },
  TAU_MCP_USAGE: {
    title: 'A `tau mcp` command was given arguments it cannot use',
    hint: 'Use `tau mcp add NAME -- COMMAND ARGS...` or `tau mcp add NAME --url URL [--transport http|sse]`.',
    userError: true,
  },
})

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === 'string' ? error : String(error)
}
