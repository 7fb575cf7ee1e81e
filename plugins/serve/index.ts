/**
 * `serve`: `tau serve`, the agent over HTTP and Server-Sent Events, and a web UI. One more
 * frontend over the session controller: each HTTP session is a SessionController whose questions
 * wait on its board until answered by id; its SSE stream is the session's events with their seq,
 * resumable from the log after a disconnect or a restart. See README.md and docs/serve.md.
 */
import { cliCommandsRef, definePlugin } from '../../kernel/index.js'
import type { RunningServe } from './command.js'
import { serveConfig } from './config.js'

export { type ServeConfig, serveConfig } from './config.js'
export type { EnqueueHubOptions, ServeHub } from './enqueue.js'
export { SERVE_ENQUEUE_ERRORS, SERVE_ERRORS } from './errors.js'
export type {
  CreateOptions as ServeCreateOptions,
  SessionStatus as ServeSessionStatus,
  SessionView as ServeSessionView,
} from './hub.js'
export type { RouteSpec } from './routes.js'
export type { RunningServer, ServeOptions } from './server.js'
export type { Position as StreamPosition, StreamItem } from './stream-buffer.js'
export type { ServeToken } from './token.js'
// The values of `tau serve`'s implementation (SessionHub, startServer, ...) are in public.ts.

export default definePlugin({
  name: 'serve',
  description: '`tau serve`: the agent over HTTP + Server-Sent Events, with a web UI',
  dependsOn: ['session-controller'],
  optionalDependsOn: ['session', 'providers'],
  config: serveConfig,
  setup(ctx) {
    let running: RunningServe | undefined
    ctx.provide(cliCommandsRef, {
      name: 'serve',
      description: 'serve the agent over HTTP + SSE, with a web UI (127.0.0.1, bearer token)',
      needs: 'start',
      options: [
        { flags: '--host <host>', description: `address to listen on (default ${ctx.config.host})` },
        { flags: '--port <port>', description: `port (default ${ctx.config.port}; 0: any free port)` },
      ],
      async run(command) {
        // The server, its routes and the web page load only now (not at every start of tau).
        const { runServe } = await import('./command.js')
        await runServe(ctx, command, (started) => {
          running = started
        })
        await stop()
        return 0
      },
    })
    const stop = async () => {
      const current = running
      running = undefined
      if (!current) return
      await current.server.close()
      await current.hub.close()
    }
    return stop
  },
})
