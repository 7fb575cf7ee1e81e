/** The serve plugin's error codes, in tau's one catalogue (docs/errors.md). */
import { defineErrors } from '../../kernel/index.js'

export const SERVE_ERRORS = defineErrors('serve', {
  TAU_SERVE_UNAUTHORIZED: {
    title: 'A request to tau serve has no valid bearer token',
    hint: 'Send `Authorization: Bearer <token>`; the token is in $TAU_HOME/serve/token (printed when it was created). Open the web UI with the URL tau serve prints.',
    userError: true,
  },
  TAU_SERVE_BAD_REQUEST: {
    title: 'A request to tau serve is not valid',
    hint: 'The message names the field; GET /openapi.json describes every route and its body.',
    userError: true,
  },
  TAU_SERVE_NOT_FOUND: {
    title: 'tau serve has no such session or question',
    hint: 'GET /sessions lists the sessions; GET /sessions/{id} lists its pending questions (an answered or withdrawn question is gone).',
    userError: true,
  },
  TAU_SERVE_CONFLICT: {
    title: 'The session cannot do that now',
    hint: 'A session runs one thing at a time: wait for its run to end (the `idle` event), or abort it.',
    userError: true,
  },
  TAU_SERVE_LISTEN_FAILED: {
    title: 'tau serve could not listen on its address',
    hint: 'Another process may use the port: pick another with --port (0: any free port) or serve.port.',
    userError: true,
  },
  TAU_SERVE_FRAMEWORK_MISSING: {
    title: 'The HTTP framework of tau serve could not be loaded',
    hint: 'tau serve needs the fastify package (a dependency of tau-agent): reinstall tau-agent, or `npm install fastify`.',
    userError: true,
  },
})
