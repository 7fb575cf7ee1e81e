/**
 * `tau serve`'s body: the token, the hub (in-process sessions or enqueued durable runs) and the
 * HTTP server. index.ts loads it with `import()` when the command runs, so Fastify's routes, the
 * schemas and the web page are not initialised at every start of tau (docs/benchmarks.md).
 */
import { join, resolve as resolvePath } from 'node:path'
import { type CliCommandContext, type PluginContext, TauError } from '../../kernel/index.js'
import { durableRunsRef } from '../durable-dbos/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { sessionServiceRef } from '../session/index.js'
import { sessionControllersRef } from '../session-controller/index.js'
import type { ServeConfig } from './config.js'
import { EnqueueHub, SERVE_ENQUEUE_ERRORS, type ServeHub } from './enqueue.js'
import { SessionHub } from './hub.js'
import { type RunningServer, startServer } from './server.js'
import { loadOrCreateToken } from './token.js'

/** What runs while `tau serve` serves: index.ts's teardown closes it. */
export interface RunningServe {
  readonly server: RunningServer
  readonly hub: ServeHub
}

/** Serves until `signal` aborts; `started` is told of the server once it listens. */
export async function runServe(
  ctx: PluginContext<ServeConfig>,
  { options, stdout, stderr, signal }: CliCommandContext,
  started: (running: RunningServe) => void,
): Promise<void> {
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
      ? enqueueHub(ctx, checkModel)
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
  started({ server, hub })
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
}

// Enqueue mode: prompts become durable runs of the durable-dbos plugin, taken by `tau worker`s.
function enqueueHub(ctx: PluginContext<ServeConfig>, checkModel: (model: string) => void): ServeHub {
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
