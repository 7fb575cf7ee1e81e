/**
 * `serve`: `tau serve`, the agent over HTTP and Server-Sent Events, and a web UI. One more
 * frontend over the session controller: each HTTP session is a SessionController whose questions
 * wait on its board until answered by id; its SSE stream is the session's events with their seq,
 * resumable from the log after a disconnect or a restart. See README.md and docs/serve.md.
 */
import { join, resolve as resolvePath } from 'node:path'
import { cliCommandsRef, definePlugin, TauError } from '../../kernel/index.js'
import { durableRunsRef } from '../durable-dbos/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { sessionServiceRef } from '../session/index.js'
import { sessionControllersRef } from '../session-controller/index.js'
import { type ServeConfig, serveConfig } from './config.js'
import { EnqueueHub, SERVE_ENQUEUE_ERRORS, type ServeHub } from './enqueue.js'
import { SessionHub } from './hub.js'
import { type RunningServer, startServer } from './server.js'
import { loadOrCreateToken } from './token.js'

export { type ServeConfig, serveConfig } from './config.js'
export { EnqueueHub, type EnqueueHubOptions, SERVE_ENQUEUE_ERRORS, type ServeHub } from './enqueue.js'
export { SERVE_ERRORS } from './errors.js'
export {
  type CreateOptions as ServeCreateOptions,
  SessionHub,
  type SessionStatus as ServeSessionStatus,
  type SessionView as ServeSessionView,
} from './hub.js'
export { openapiDocument, openapiPath } from './openapi.js'
export type { RouteSpec } from './routes.js'
export { type RunningServer, type ServeOptions, startServer } from './server.js'
export {
  idOf as streamIdOf,
  type Position as StreamPosition,
  parsePosition as parseStreamPosition,
  type StreamItem,
} from './stream-buffer.js'
export { loadOrCreateToken, type ServeToken, tokenMatches } from './token.js'

export default definePlugin({
  name: 'serve',
  description: '`tau serve`: the agent over HTTP + Server-Sent Events, with a web UI',
  dependsOn: ['session-controller'],
  optionalDependsOn: ['session', 'providers'],
  config: serveConfig,
  setup(ctx) {
    let running: { server: RunningServer; hub: ServeHub } | undefined
    ctx.provide(cliCommandsRef, {
      name: 'serve',
      description: 'serve the agent over HTTP + SSE, with a web UI (127.0.0.1, bearer token)',
      needs: 'start',
      options: [
        { flags: '--host <host>', description: `address to listen on (default ${ctx.config.host})` },
        { flags: '--port <port>', description: `port (default ${ctx.config.port}; 0: any free port)` },
      ],
      async run({ options, stdout, stderr, signal }) {
        const config: ServeConfig = { ...ctx.config }
        if (typeof options.host === 'string') config.host = options.host
        if (typeof options.port === 'string') {
          const port = Number(options.port)
          if (!Number.isInteger(port) || port < 0 || port > 65_535)
            throw new TauError('TAU_CLI_USAGE', `--port: '${options.port}' is not a port number (0-65535)`)
          config.port = port
        }
        const tokenFile =
          config.tokenFile === undefined
            ? join(ctx.paths.tauHome, 'serve', 'token')
            : resolvePath(ctx.paths.projectDir, config.tokenFile)
        const token = await loadOrCreateToken(tokenFile)
        const checkModel = (model: string) => {
          const registry = ctx.tryResolve(providerRegistryRef)
          registry?.get(registry.ref(model).provider)
        }
        const hub: ServeHub =
          config.mode === 'enqueue'
            ? enqueueHub(checkModel)
            : new SessionHub({
                controllers: ctx.resolve(sessionControllersRef),
                sessions: ctx.tryResolve(sessionServiceRef),
                cwd: ctx.paths.cwd,
                bufferSize: config.replayBuffer,
                logger: ctx.logger,
                checkModel,
              })
        let server: RunningServer
        try {
          server = await startServer({
            hub,
            config,
            token: token.token,
            cwd: ctx.paths.cwd,
            logger: ctx.logger,
          })
        } catch (error) {
          await hub.close()
          throw error
        }
        running = { server, hub }
        if (token.created)
          stderr.write(
            `tau serve: created the bearer token (shown only now; kept in ${token.file}, mode 0600):\n  ${token.token}\n`,
          )
        if (config.host !== '127.0.0.1' && config.host !== 'localhost' && config.host !== '::1')
          stderr.write(`tau serve: warning: listening on ${config.host}, reachable from other machines\n`)
        // stdout: one line a program can read (tests, scripts); the token stays out of it.
        stdout.write(`tau serve: listening on ${server.url}\n`)
        stderr.write(
          `tau serve: web UI at ${server.url}/#token=<token> (the token is in ${token.file}); Ctrl-C stops\n`,
        )
        await new Promise<void>((resolve) => {
          if (signal.aborted) return resolve()
          signal.addEventListener('abort', () => resolve(), { once: true })
        })
        await stop()
        return 0
      },
    })
    // Enqueue mode: prompts become durable runs of the durable-dbos plugin, taken by `tau worker`s.
    const enqueueHub = (checkModel: (model: string) => void) => {
      const runs = ctx.tryResolve(durableRunsRef)
      const sessions = ctx.tryResolve(sessionServiceRef)
      if (!runs || sessions?.store.kind !== 'postgres')
        throw new TauError(
          SERVE_ENQUEUE_ERRORS.TAU_SERVE_ENQUEUE_NOT_DURABLE,
          runs
            ? `serve.mode is 'enqueue' but the session store is '${sessions?.store.kind ?? 'none'}', not PostgreSQL: load the session-postgres plugin so the stream reads the workers' logs`
            : "serve.mode is 'enqueue' but durable.database and TAU_DATABASE_URL are both unset",
          { plugin: 'serve' },
        )
      return new EnqueueHub({ runs, sessions, cwd: ctx.paths.cwd, logger: ctx.logger, checkModel })
    }
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
