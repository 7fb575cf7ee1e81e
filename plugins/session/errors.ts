/** The session plugin's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const SESSION_ERRORS = defineErrors('session', {
  TAU_SESSION_NOT_FOUND: {
    title: 'There is no stored session to resume',
    hint: 'Run `tau sessions` to list the sessions of this project; --continue needs at least one.',
    userError: true,
  },
  TAU_SESSION_CORRUPT: {
    title: 'A session transcript has a line that is not a valid record',
    hint: 'The message names the file and line. Only a torn last line (a crash mid-write) is tolerated; fix or remove the line, or start a new session.',
    userError: true,
  },
  TAU_SESSION_BAD_ID: {
    title: 'A session id is not valid',
    hint: 'Session ids are letters, digits, - and _ (as `tau sessions` lists them).',
    userError: true,
  },
  TAU_SESSION_LOCKED: {
    title: 'The session is in use by another process',
    hint: 'A session has one writer at a time. Wait for the process the message names to end, or go on in a copy (--fork-session). A lock left by a process that is gone is taken over by itself.',
    userError: true,
  },
  TAU_SESSION_BUSY: {
    title: 'The session is running or already compacting',
    hint: 'Compact between runs: wait for the run to end (or abort it), then /compact again.',
    userError: true,
  },
  TAU_SESSION_COMPACTION_FAILED: {
    title: 'Compacting the session failed',
    hint: 'The summary call to the model failed or returned nothing; the conversation was left as it was.',
    userError: false,
  },
})
