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

/** Enqueue mode's (serve.mode 'enqueue': prompts become durable runs). */
export const SERVE_ENQUEUE_ERRORS = defineErrors('serve', {
  TAU_SERVE_ENQUEUE_NOT_DURABLE: {
    title: "serve.mode 'enqueue' needs durable runs, which are not configured",
    hint: "Set durable.database (or TAU_DATABASE_URL) to the workers' PostgreSQL database, or set serve.mode to 'in-process'.",
    userError: true,
  },
  TAU_SERVE_ENQUEUE_UNSUPPORTED: {
    title: 'tau serve in enqueue mode cannot do that',
    hint: "In enqueue mode a run is a worker's: its config sets the permission mode, tools, MCP servers and sandbox, and nobody is asked. Send plain prompts; run tau serve with serve.mode 'in-process' for the rest.",
    userError: true,
  },
})
