/** The acp plugin's error codes, in tau's one catalogue (sent as the JSON-RPC error's `data.code`). */
import { defineErrors } from '../../kernel/index.js'

export const ACP_ERRORS = defineErrors('acp', {
  TAU_ACP_SESSION_NOT_FOUND: {
    title: 'The editor named a session that this `tau acp` process does not have open',
    hint: 'Open it first: session/new for a new one, session/load for a stored one (listed by `tau sessions`).',
    userError: true,
  },
  TAU_ACP_BAD_REQUEST: {
    title: 'An Agent Client Protocol request cannot be carried out as sent',
    hint: 'The message says which field is wrong (a relative cwd, a second prompt while one runs, an unknown mode); fix the request, or report it to the editor whose ACP client sent it.',
    userError: true,
  },
})
