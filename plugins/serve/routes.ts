/**
 * The routes of `tau serve`, as one table: method, URL, schemas and handler. The server registers
 * each with Fastify (which validates requests and serialises responses with the schemas) and the
 * OpenAPI document is generated from the same table (openapi.ts).
 */
import { existsSync, statSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { TauError } from '../../kernel/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { AnswerOf, PendingQuestion } from '../session-controller/index.js'
import type { ServeHub } from './enqueue.js'
import { SERVE_ERRORS } from './errors.js'
import type { CreateOptions } from './hub.js'
import * as s from './schemas.js'
import { openSse } from './sse.js'
import { parsePosition } from './stream-buffer.js'

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE'
  /** Fastify's form: `/sessions/:id`. */
  readonly url: string
  readonly operationId: string
  readonly summary: string
  readonly params?: s.JsonSchema
  readonly querystring?: s.JsonSchema
  readonly body?: s.JsonSchema
  /** Status -> schema; `sse` marks a text/event-stream response. */
  readonly responses: Readonly<Record<number, s.JsonSchema | 'sse' | 'empty'>>
  readonly handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}

export interface RouteContext {
  readonly hub: ServeHub
  /** The server's working directory (a session's relative cwd is resolved against it). */
  readonly cwd: string
  /** What GET /openapi.json returns. */
  readonly openapi: () => unknown
}

function badRequest(message: string): TauError {
  return new TauError(SERVE_ERRORS.TAU_SERVE_BAD_REQUEST, message, { plugin: 'serve' })
}

type Params = { id: string }

const permissionAnswer = z.union([
  z.enum(['allow', 'allow-always', 'deny']),
  z
    .object({
      behavior: z.enum(['allow', 'allow-always', 'deny']),
      reason: z.string().optional(),
      rule: z.string().optional(),
    })
    .strict(),
])
const planAnswer = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('approve'), mode: z.enum(['acceptEdits', 'default']) }).strict(),
  z.object({ decision: z.literal('revise'), comments: z.string() }).strict(),
  z.object({ decision: z.literal('reject'), reason: z.string().optional() }).strict(),
])
const answers = {
  permission: permissionAnswer,
  plan: planAnswer,
  elicitation: z
    .object({
      action: z.enum(['accept', 'decline', 'cancel']),
      content: z
        .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
        .optional(),
    })
    .strict(),
  sampling: z.union([
    z.object({ action: z.enum(['allow', 'allow-always']) }).strict(),
    z.object({ action: z.literal('deny'), reason: z.string().optional() }).strict(),
  ]),
  choice: z.object({ value: z.string().optional() }).strict(),
  questions: z.union([
    z.object({ answers: z.record(z.string(), z.string()) }).strict(),
    z.object({ declined: z.literal(true), reason: z.string().optional() }).strict(),
  ]),
} as const

/** Checks an answer against its question's kind; the message says what the kind takes. */
function parseAnswer(question: PendingQuestion, answer: unknown): AnswerOf[PendingQuestion['kind']] {
  const parsed = answers[question.kind].safeParse(answer)
  if (!parsed.success) {
    const problem = parsed.error.issues[0]
    const where = problem && problem.path.length > 0 ? `answer.${problem.path.join('.')}` : 'answer'
    throw badRequest(
      `${where}: not a valid answer to a ${question.kind} question (${problem?.message ?? 'invalid'}); see the answer field in GET /openapi.json`,
    )
  }
  if (question.kind === 'choice') return (parsed.data as { value?: string }).value
  if (question.kind === 'questions' && 'answers' in (parsed.data as object)) {
    // Only the questions asked: an answer to a question that was not put is a mistake to report.
    const asked = new Set(question.request.questions.map((q) => q.question))
    const stray = Object.keys((parsed.data as { answers: Record<string, string> }).answers).find(
      (key) => !asked.has(key),
    )
    if (stray !== undefined)
      throw badRequest(
        `answer.answers: '${stray}' is not one of the questions asked (${[...asked].map((q) => `'${q}'`).join(', ')}); answers are keyed by the question's text`,
      )
  }
  return parsed.data as AnswerOf[PendingQuestion['kind']]
}

function resolveCwd(base: string, cwd: string | undefined): string | undefined {
  if (cwd === undefined) return undefined
  const dir = resolvePath(base, cwd)
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw badRequest(`cwd: '${cwd}' is not a directory (resolved to ${dir})`)
  return dir
}

export function routes(context: RouteContext): RouteSpec[] {
  const { hub } = context
  const notFound = { 404: s.errorSchema }
  return [
    {
      method: 'GET',
      url: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      responses: { 200: { type: 'object', additionalProperties: true } },
      handler: async () => context.openapi(),
    },
    {
      method: 'GET',
      url: '/sessions',
      operationId: 'listSessions',
      summary: 'The sessions: those in memory, then those in the log (newest first)',
      responses: { 200: s.sessionsList },
      handler: async () => ({ sessions: await hub.list() }),
    },
    {
      method: 'POST',
      url: '/sessions',
      operationId: 'createSession',
      summary:
        'A new session (model, permission mode, working directory, rules, its own MCP servers and sandbox)',
      body: s.createBody,
      responses: { 201: s.sessionSchema, 400: s.errorSchema },
      handler: async (request, reply) => {
        const body = (request.body ?? {}) as CreateOptions
        const cwd = resolveCwd(context.cwd, body.cwd)
        const view = await hub.create({ ...body, ...(cwd !== undefined ? { cwd } : {}) })
        reply.code(201)
        return view
      },
    },
    {
      method: 'GET',
      url: '/sessions/:id',
      operationId: 'getSession',
      summary: 'A session: status (idle, running, interrupted), model, mode, pending questions',
      params: s.idParams,
      responses: { 200: s.sessionSchema, ...notFound },
      handler: async (request) => hub.get((request.params as Params).id),
    },
    {
      method: 'DELETE',
      url: '/sessions/:id',
      operationId: 'deleteSession',
      summary: 'Closes the session (aborting its run) and removes its log',
      params: s.idParams,
      responses: { 204: 'empty', ...notFound },
      handler: async (request, reply) => {
        await hub.delete((request.params as Params).id)
        reply.code(204)
        return undefined
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/fork',
      operationId: 'forkSession',
      summary: 'A copy of the session under a new id (its log is untouched)',
      params: s.idParams,
      responses: { 201: s.sessionSchema, ...notFound },
      handler: async (request, reply) => {
        const view = await hub.fork((request.params as Params).id)
        reply.code(201)
        return view
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/prompt',
      operationId: 'prompt',
      summary: 'Sends a prompt (or `/command`, `# text`); the run proceeds, its events go to the SSE stream',
      params: s.idParams,
      body: s.promptBody,
      responses: { 202: s.acceptedSchema, 400: s.errorSchema, ...notFound },
      handler: async (request, reply) => {
        const { queued, runId } = await hub.submit(
          (request.params as Params).id,
          (request.body as { text: string }).text,
        )
        reply.code(202)
        return { accepted: true, queued, ...(runId !== undefined ? { runId } : {}) }
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/continue',
      operationId: 'continueRun',
      summary: 'Goes on with an interrupted run (the server was killed during it), without a new prompt',
      params: s.idParams,
      responses: { 202: s.acceptedSchema, 409: s.errorSchema, ...notFound },
      handler: async (request, reply) => {
        await hub.continueRun((request.params as Params).id)
        reply.code(202)
        return { accepted: true, queued: false }
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/abort',
      operationId: 'abort',
      summary: 'Aborts the run going on; the prompts queued behind it are handed back',
      params: s.idParams,
      responses: { 200: s.abortSchema, ...notFound },
      handler: async (request) => hub.abort((request.params as Params).id),
    },
    {
      method: 'GET',
      url: '/sessions/:id/events',
      operationId: 'events',
      summary:
        'Server-Sent Events: the session’s log and live events, each with its seq as id; resumable with Last-Event-ID or ?after=',
      params: s.idParams,
      querystring: s.eventsQuery,
      responses: { 200: 'sse', 400: s.errorSchema, ...notFound },
      handler: async (request, reply) => {
        const { id } = request.params as Params
        const header = request.headers['last-event-id']
        const text =
          (request.query as { after?: string }).after ?? (typeof header === 'string' ? header : undefined)
        const from = text === undefined || text === '' ? undefined : parsePosition(text)
        if (text !== undefined && text !== '' && from === undefined)
          throw badRequest(
            `Last-Event-ID: '${text}' is not an event id of this API (a seq such as 12 or 12.1)`,
          )
        await hub.get(id) // 404 as a JSON error, before the stream starts
        const sse = openSse(request, reply)
        const view = await hub.get(id)
        // A snapshot first, without an id (it is no position in the sequence).
        sse.send({ event: 'status', data: view })
        await hub.stream(id, from, (item) => sse.send({ item }), sse.signal)
        sse.end()
        return reply
      },
    },
    {
      method: 'GET',
      url: '/sessions/:id/questions',
      operationId: 'listQuestions',
      summary:
        'The questions waiting for an answer: permissions, plan approvals, elicitations, choices, AskUserQuestion',
      params: s.idParams,
      responses: { 200: s.questionsSchema, ...notFound },
      handler: async (request) => ({ questions: (await hub.get((request.params as Params).id)).pending }),
    },
    {
      method: 'POST',
      url: '/sessions/:id/questions/:questionId',
      operationId: 'answerQuestion',
      summary: 'Answers a pending question by its id',
      params: s.questionParams,
      body: s.answerBody,
      responses: { 200: s.okSchema, 400: s.errorSchema, ...notFound },
      handler: async (request) => {
        const { id, questionId } = request.params as Params & { questionId: string }
        const question = hub.pendingQuestion(id, questionId)
        const answer = parseAnswer(question, (request.body as { answer: unknown }).answer)
        await hub.answer(id, questionId, answer)
        return { ok: true }
      },
    },
    {
      method: 'GET',
      url: '/sessions/:id/commands',
      operationId: 'listCommands',
      summary: 'The slash commands of the session: the built-ins, then command files, MCP prompts',
      params: s.idParams,
      responses: { 200: s.commandsSchema, ...notFound },
      handler: async (request) => {
        const listed = await hub.commands((request.params as Params).id)
        return {
          commands: listed.commands.map((c) => ({
            name: c.name,
            description: c.description,
            source: c.source,
            ...(c.argumentHint ? { argumentHint: c.argumentHint } : {}),
          })),
          problems: listed.problems,
        }
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/commands',
      operationId: 'runCommand',
      summary:
        'Runs a slash command (`/compact`, `/model REF`, a command file); its output is an `output` event',
      params: s.idParams,
      body: s.commandBody,
      responses: { 202: s.acceptedSchema, 400: s.errorSchema, ...notFound },
      handler: async (request, reply) => {
        const { id } = request.params as Params
        const { name, args } = request.body as { name: string; args?: string }
        const listed = await hub.commands(id)
        if (!listed.commands.some((c) => c.name === name))
          throw badRequest(
            `name: no command /${name} in this session (GET /sessions/${id}/commands lists them)`,
          )
        const { queued } = await hub.submit(id, `/${name}${args ? ` ${args}` : ''}`)
        reply.code(202)
        return { accepted: true, queued }
      },
    },
    {
      method: 'POST',
      url: '/sessions/:id/mode',
      operationId: 'setMode',
      summary: 'Sets the permission mode (default, acceptEdits, plan, bypassPermissions)',
      params: s.idParams,
      body: s.modeBody,
      responses: { 200: s.okSchema, ...notFound },
      handler: async (request) => {
        const { id } = request.params as Params
        await hub.setMode(id, (request.body as { mode: PermissionMode }).mode)
        return { ok: true }
      },
    },
  ]
}
