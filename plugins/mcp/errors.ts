/** The MCP plugin's error codes, in tau's one catalogue. */
import { defineErrors } from '../../kernel/index.js'

export const MCP_ERRORS = defineErrors('mcp', {
  TAU_MCP_FILE_INVALID: {
    title: 'The project .mcp.json is not valid JSON or has a field of the wrong shape',
    hint: 'Fix the field named in the message; the shape is `{ "mcpServers": { "NAME": { "command": ..., "args": [...] } } }`.',
    userError: true,
  },
  TAU_MCP_USAGE: {
    title: '`tau mcp add` or `tau mcp remove` was given arguments it cannot use',
    hint: 'Use `tau mcp add NAME -- COMMAND ARGS...` or `tau mcp add NAME --url URL [--transport http|sse]`.',
    userError: true,
  },
})

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return typeof error === 'string' ? error : String(error)
}
