/**
 * The HTTP server of `tau serve` on Fastify 5, imported lazily (only `tau serve` loads it, and the
 * bin bundle leaves it outside). Every route but the static web UI page needs the bearer token;
 * CORS headers are sent only for configured origins; errors are the catalogue's, as
 * `{ error: { code, message, hint } }`, never a stack trace.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorCatalogue, isTauError, type Logger, messageOf, TauError } from '../../kernel/index.js'
import type { ServeConfig } from './config.js'
import type { ServeHub } from './enqueue.js'
import { SERVE_ERRORS } from './errors.js'
import { openapiDocument } from './openapi.js'
import { type RouteSpec, routes } from './routes.js'
import { tokenMatches } from './token.js'
import { WEB_UI_HTML } from './web/page.js'

export interface ServeOptions {
  readonly hub: ServeHub
  readonly config: Pick<ServeConfig, 'host' | 'port' | 'corsOrigins' | 'webUi'>
  readonly token: string
  readonly cwd: string
  readonly logger: Logger
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly app: FastifyInstance
  readonly routes: readonly RouteSpec[]
  close(): Promise<void>
}

const STATUS: Record<string, number> = {
  TAU_SERVE_UNAUTHORIZED: 401,
  TAU_SERVE_NOT_FOUND: 404,
  TAU_SESSION_NOT_FOUND: 404,
  TAU_SERVE_CONFLICT: 409,
  TAU_SESSION_LOCKED: 409,
  TAU_SESSION_BUSY: 409,
}

function errorBody(code: string, message: string) {
  const hint = errorCatalogue().get(code)?.hint
  return { error: { code, message, ...(hint ? { hint } : {}) } }
}

const WEB_UI_PATHS = ['/', '/index.html']

async function loadFastify(): Promise<typeof import('fastify').default> {
  try {
    return (await import('fastify')).default
  } catch (error) {
    throw new TauError(
      SERVE_ERRORS.TAU_SERVE_FRAMEWORK_MISSING,
      `fastify could not be loaded: ${messageOf(error)}`,
      {
        plugin: 'serve',
        cause: error,
      },
    )
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const Fastify = await loadFastify()
  const app = Fastify({
    logger: false,
    bodyLimit: 8 * 1024 * 1024,
    // An unknown field is an error that names it, not silently dropped (Fastify's default).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  })
  const cors = new Set(options.config.corsOrigins)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin
    if (origin !== undefined && cors.has(origin)) {
      reply.header('access-control-allow-origin', origin)
      reply.header('vary', 'Origin')
      if (request.method === 'OPTIONS') {
        reply
          .header('access-control-allow-methods', 'GET, POST, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type, last-event-id')
          .header('access-control-max-age', '600')
          .code(204)
          .send()
        return reply
      }
    }
    const path = request.url.split('?')[0]!
    if (options.config.webUi && request.method === 'GET' && WEB_UI_PATHS.includes(path)) return
    if (!tokenMatches(options.token, request.headers.authorization)) {
      reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="tau"')
        .send(
          errorBody(
            SERVE_ERRORS.TAU_SERVE_UNAUTHORIZED,
            request.headers.authorization === undefined
              ? 'this request has no Authorization header; tau serve needs `Authorization: Bearer <token>`'
              : 'the bearer token is not the one of this tau serve',
          ),
        )
      return reply
    }
  })

  app.setErrorHandler((error: FastifyError | TauError, _request, reply) => {
    if ('validation' in error && error.validation) {
      const where = (error.validationContext ?? 'request') as string
      const first = error.validation[0]
      const field = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where
      const text = first?.message ?? error.message
      const extra =
        first?.params && 'additionalProperty' in first.params
          ? ` '${String(first.params.additionalProperty)}'`
          : ''
      return reply.code(400).send(errorBody(SERVE_ERRORS.TAU_SERVE_BAD_REQUEST, `${field}: ${text}${extra}`))
    }
    if (isTauError(error)) {
      const user = errorCatalogue().get(error.code)?.userError === true
      const status = STATUS[error.code] ?? (user ? 400 : 500)
      if (status >= 500) options.logger.error(`${error.code}: ${error.message}`)
      return reply.code(status).send(errorBody(error.code, error.message))
    }
    if ('statusCode' in error && typeof error.statusCode === 'number' && error.statusCode < 500)
      return reply.code(error.statusCode).send(errorBody(SERVE_ERRORS.TAU_SERVE_BAD_REQUEST, error.message))
    options.logger.error(`request failed: ${messageOf(error)}`)
    return reply
      .code(500)
      .send(errorBody('TAU_INTERNAL', 'the request failed inside tau serve (see its log)'))
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          SERVE_ERRORS.TAU_SERVE_NOT_FOUND,
          `no route ${request.method} ${request.url.split('?')[0]} (GET /openapi.json lists them)`,
        ),
      ),
  )

  let document: unknown
  const specs = routes({ hub: options.hub, cwd: options.cwd, openapi: () => document })
  document = openapiDocument(specs, options.config.webUi ? ['/'] : [])
  for (const spec of specs) {
    const response: Record<number, unknown> = {}
    for (const [status, schema] of Object.entries(spec.responses))
      if (typeof schema === 'object') response[Number(status)] = schema
    app.route({
      method: spec.method,
      url: spec.url,
      schema: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.querystring ? { querystring: spec.querystring } : {}),
        ...(spec.body ? { body: spec.body } : {}),
        response,
      },
      handler: spec.handler,
    })
  }
  if (options.config.webUi) {
    for (const path of WEB_UI_PATHS)
      app.get(path, async (_request, reply) =>
        reply
          .type('text/html; charset=utf-8')
          // The page loads nothing from elsewhere and runs only its own inline script.
          .header(
            'content-security-policy',
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
          )
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .send(WEB_UI_HTML),
      )
  }

  try {
    await app.listen({ host: options.config.host, port: options.config.port })
  } catch (error) {
    await app.close().catch(() => undefined)
    throw new TauError(
      SERVE_ERRORS.TAU_SERVE_LISTEN_FAILED,
      `could not listen on ${options.config.host}:${options.config.port}: ${messageOf(error)}`,
      { plugin: 'serve', cause: error },
    )
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : options.config.port
  const host = options.config.host.includes(':') ? `[${options.config.host}]` : options.config.host
  return {
    url: `http://${host}:${port}`,
    app,
    routes: specs,
    close: async () => {
      // Open SSE responses are hijacked: end them, or close() waits for them.
      app.server.closeAllConnections?.()
      await app.close()
    },
  }
}
