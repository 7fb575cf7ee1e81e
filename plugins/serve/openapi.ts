/**
 * The OpenAPI 3.1 document of `tau serve`, generated from the route table (routes.ts): the same
 * schemas Fastify validates and serialises with, so it cannot drift from the server.
 */
import { tauVersion } from '../../kernel/index.js'
import type { RouteSpec } from './routes.js'
import type { JsonSchema } from './schemas.js'

/** `/sessions/:id` -> `/sessions/{id}` */
export function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
}

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query') {
  if (!schema) return []
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((schema.required as string[] | undefined) ?? [])
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }))
}

export function openapiDocument(specs: readonly RouteSpec[], extraPaths: readonly string[] = []) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const spec of specs) {
    const responses: Record<string, unknown> = {
      401: {
        description: 'no valid bearer token',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    }
    for (const [status, schema] of Object.entries(spec.responses)) {
      responses[status] =
        schema === 'empty'
          ? { description: 'no content' }
          : schema === 'sse'
            ? {
                description:
                  'text/event-stream: `id: <seq>`, `event: <name>`, `data: <json>` (docs/serve.md)',
                content: { 'text/event-stream': { schema: { type: 'string' } } },
              }
            : {
                description: Number(status) < 300 ? 'ok' : 'error',
                content: { 'application/json': { schema } },
              }
    }
    const operation = {
      operationId: spec.operationId,
      summary: spec.summary,
      parameters: [
        ...parameters(spec.params, 'path'),
        ...parameters(spec.querystring, 'query'),
        ...(spec.responses[200] === 'sse'
          ? [
              {
                name: 'Last-Event-ID',
                in: 'header',
                required: false,
                schema: { type: 'string' },
                description: 'resume after this event id (sent by EventSource on reconnect)',
              },
            ]
          : []),
      ],
      ...(spec.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } }
        : {}),
      responses,
    }
    const path = openapiPath(spec.url)
    paths[path] = { ...(paths[path] ?? {}), [spec.method.toLowerCase()]: operation }
  }
  for (const path of extraPaths) {
    paths[path] = {
      get: {
        operationId: 'webUi',
        summary: 'The web UI (a static page; it holds no data, so it needs no token: its calls do)',
        security: [],
        responses: {
          200: { description: 'text/html', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'tau serve',
      version: tauVersion(),
      description: 'The tau agent over HTTP and Server-Sent Events.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } },
            },
          },
        },
      },
    },
    paths,
  }
}
