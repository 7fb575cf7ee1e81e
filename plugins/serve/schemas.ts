/**
 * The JSON Schemas of the routes' bodies and answers. Fastify validates requests with them and
 * serialises responses with them; the OpenAPI document (openapi.ts) is generated from the same
 * objects, so the document cannot drift from what the server does.
 */

export type JsonSchema = Readonly<Record<string, unknown>>

const str = { type: 'string' } as const
const strings = { type: 'array', items: str } as const
/** Open objects: agent events, log records and questions are described in docs/serve.md. */
const open = { type: 'object', additionalProperties: true } as const

export const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: str, message: str, hint: str },
    },
  },
}

export const permissionModes = ['default', 'acceptEdits', 'plan', 'bypassPermissions'] as const

export const sessionSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'loaded', 'status', 'title', 'model', 'cwd', 'pending', 'queue', 'lastSeq'],
  properties: {
    id: str,
    loaded: { type: 'boolean', description: 'in memory (its lease held) or only in the log' },
    status: { type: 'string', enum: ['idle', 'running', 'interrupted'] },
    title: str,
    model: str,
    cwd: str,
    permissionMode: str,
    startedAt: str,
    updatedAt: str,
    turns: { type: 'integer' },
    parent: { type: 'object', properties: { id: str, messages: { type: 'integer' } } },
    pending: { type: 'array', items: open, description: 'questions waiting for an answer' },
    queue: strings,
    lastSeq: { type: 'integer', description: 'an SSE client that saw this seq is up to date' },
  },
}

export const createBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', minLength: 1, description: '`provider:model` (default: the config’s)' },
    permissionMode: { type: 'string', enum: [...permissionModes] },
    cwd: {
      type: 'string',
      minLength: 1,
      description: 'the session’s working directory (its environment’s root); relative to the server’s',
    },
    allowedTools: { ...strings, description: 'permission rules allowed in this session' },
    disallowedTools: { ...strings, description: 'permission rules denied in this session' },
    mcpServers: {
      type: 'object',
      additionalProperties: { type: 'object' },
      description:
        'MCP servers of this session only, by name, in the `mcpServers` config shape (stdio `command`/`args`/`env`, or `type: http|sse` with `url`/`headers`); connected with the session, closed with it',
    },
    sandbox: {
      type: 'object',
      description:
        'this session’s environment, in the `sandbox` config shape (`mode`, `filesystem`, `network`, ...), merged over the server’s config',
    },
  },
}

export const idParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
}

export const questionParams: JsonSchema = {
  type: 'object',
  required: ['id', 'questionId'],
  properties: { ...(idParams.properties as object), questionId: { type: 'string', minLength: 1 } },
}

export const promptBody: JsonSchema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: {
    text: { type: 'string', minLength: 1, description: 'a prompt, a `/command args` or `# text`' },
  },
}

export const commandBody: JsonSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_:.-]+$', description: 'the command without its slash' },
    args: { type: 'string', default: '' },
  },
}

export const modeBody: JsonSchema = {
  type: 'object',
  required: ['mode'],
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: [...permissionModes] } },
}

export const answerBody: JsonSchema = {
  type: 'object',
  required: ['answer'],
  additionalProperties: false,
  properties: {
    answer: {
      description:
        'permission: "allow" | "allow-always" | "deny" | { behavior, reason?, rule? }; plan: { decision: "approve", mode } | { decision: "revise", comments } | { decision: "reject", reason? }; elicitation: { action, content? }; sampling: { action, reason? }; choice: { value? }; questions: { answers: { [question text]: answer } } | { declined: true, reason? }',
    },
  },
}

export const eventsQuery: JsonSchema = {
  type: 'object',
  properties: {
    after: {
      type: 'string',
      pattern: '^-?\\d{1,15}(\\.\\d{1,9})?$',
      description: 'resume after this SSE id (as Last-Event-ID does)',
    },
  },
}

export const sessionsList: JsonSchema = {
  type: 'object',
  required: ['sessions'],
  properties: { sessions: { type: 'array', items: sessionSchema } },
}

export const acceptedSchema: JsonSchema = {
  type: 'object',
  required: ['accepted'],
  properties: {
    accepted: { type: 'boolean' },
    queued: { type: 'boolean', description: 'it waits behind the run going on' },
    runId: { type: 'string', description: 'the durable run the prompt became (serve.mode enqueue)' },
  },
}

export const abortSchema: JsonSchema = {
  type: 'object',
  required: ['aborted', 'taken'],
  properties: {
    aborted: { type: 'boolean', description: 'a run was going on' },
    taken: { ...strings, description: 'the prompts that were queued behind it' },
  },
}

export const questionsSchema: JsonSchema = {
  type: 'object',
  required: ['questions'],
  properties: { questions: { type: 'array', items: open } },
}

export const commandsSchema: JsonSchema = {
  type: 'object',
  required: ['commands'],
  properties: {
    commands: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'description', 'source'],
        properties: { name: str, description: str, source: str, argumentHint: str },
      },
    },
    problems: strings,
  },
}

export const okSchema: JsonSchema = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' } },
}
