/**
 * What MCP servers ask the person at the terminal (part of the session’s UserInteraction): whether
 * tau's model may answer a server's sampling request, a form or a URL a server asks for
 * (elicitation), and the login page of a server that needs one. Each is a question in the
 * terminal's live area, asked one at a time with the session's other questions.
 */
import type {
  ElicitationAnswer,
  ElicitationRequest,
  McpUserInteraction,
  SamplingConfirmation,
  SamplingDecision,
} from '../mcp/index.js'
import type { ChoiceAction, ChoiceOption } from './choice.js'
import { truncate } from './render.js'
import { type Row, span, wrap } from './text.js'

/** What the questions need from the terminal session. */
export interface Asker {
  readonly columns: number
  choose<T>(
    title: Row[],
    options: ChoiceOption<T>[],
    signal?: AbortSignal,
    initial?: number,
  ): Promise<(ChoiceAction<T> & { rest?: string }) | { type: 'aborted' }>
  askText(label: string, signal?: AbortSignal): Promise<string | undefined>
  say(text: string): void
  /** Runs `ask` when no other question is open (questions never overlap). */
  exclusive<T>(ask: () => Promise<T>): Promise<T>
}

type Value = string | number | boolean | string[]

/** The choice that leaves an optional field out (no schema value can be it). */
const SKIP = '\u0000skip'

interface Option {
  readonly value: string
  readonly label: string
}

interface Field {
  readonly name: string
  readonly title: string
  readonly description: string | undefined
  readonly type: string
  readonly required: boolean
  /** A single choice (`enum`, `oneOf` with titles, the legacy `enumNames`). */
  readonly options: readonly Option[] | undefined
  /** The choices of a multiple choice (`items.enum`, `items.anyOf`). */
  readonly items: readonly Option[] | undefined
  readonly default: unknown
  readonly minimum: number | undefined
  readonly maximum: number | undefined
}

type Titled = ReadonlyArray<{ readonly const?: unknown; readonly title?: unknown }>

function optionsOf(values: unknown, names: unknown, titled: unknown): Option[] | undefined {
  if (Array.isArray(values)) {
    const labels = Array.isArray(names) ? (names as unknown[]) : []
    return values.map((v, i) => {
      const label = labels[i]
      return { value: String(v), label: typeof label === 'string' ? `${label} (${String(v)})` : String(v) }
    })
  }
  if (Array.isArray(titled))
    return (titled as Titled).map((o) => ({
      value: String(o.const),
      label: typeof o.title === 'string' ? `${o.title} (${String(o.const)})` : String(o.const),
    }))
  return undefined
}

function fieldsOf(schema: Readonly<Record<string, unknown>>): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : [])
  return Object.entries(properties).map(([name, p]) => {
    const items = (p.items ?? {}) as Record<string, unknown>
    return {
      name,
      title: typeof p.title === 'string' ? p.title : name,
      description: typeof p.description === 'string' ? p.description : undefined,
      type: typeof p.type === 'string' ? p.type : 'string',
      required: required.has(name),
      options: optionsOf(p.enum, p.enumNames, p.oneOf ?? p.anyOf),
      items: p.type === 'array' ? optionsOf(items.enum, undefined, items.anyOf ?? items.oneOf) : undefined,
      default: p.default,
      minimum: typeof p.minimum === 'number' ? p.minimum : undefined,
      maximum: typeof p.maximum === 'number' ? p.maximum : undefined,
    }
  })
}

/** One field's answer: a value, `skip` (left out: optional, or the schema's default) or `cancel`. */
async function askField(asker: Asker, field: Field, signal: AbortSignal): Promise<Value | 'skip' | 'cancel'> {
  const label = `${field.title}${field.required ? '' : ' (optional)'}${field.description ? ` — ${field.description}` : ''}`
  if (field.type === 'boolean') {
    const answer = await asker.choose<boolean | 'skip'>(
      [[span(label, { bold: true })]],
      [
        { label: 'Yes', letter: 'y', value: true },
        { label: 'No', letter: 'n', value: false },
        ...(field.required ? [] : [{ label: '(leave it out)', value: 'skip' as const }]),
      ],
      signal,
    )
    return answer.type === 'picked' ? answer.value : 'cancel'
  }
  if (field.options && field.options.length > 0) {
    const initial = field.options.findIndex((o) => o.value === field.default)
    const answer = await asker.choose<string>(
      [[span(label, { bold: true })]],
      [
        ...field.options.map((o) => ({ label: o.label, value: o.value })),
        ...(field.required ? [] : [{ label: '(leave it out)', value: SKIP }]),
      ],
      signal,
      Math.max(0, initial),
    )
    if (answer.type !== 'picked') return 'cancel'
    return answer.value === SKIP ? 'skip' : answer.value
  }
  for (;;) {
    const hint = field.items ? ` [${field.items.map((o) => o.label).join(', ')}; comma separated]` : ''
    const shown = field.default !== undefined ? ` (Enter for ${JSON.stringify(field.default)})` : ''
    const text = await asker.askText(`${label}${hint}${shown}`, signal)
    if (text === undefined) return 'cancel'
    const value = text.trim()
    if (value === '') {
      if (!field.required || field.default !== undefined) return 'skip'
      asker.say(`${field.title} is required`)
      continue
    }
    if (field.type === 'number' || field.type === 'integer') {
      const n = Number(value)
      const whole = field.type === 'integer' ? Number.isInteger(n) : Number.isFinite(n)
      if (
        !whole ||
        (field.minimum !== undefined && n < field.minimum) ||
        (field.maximum !== undefined && n > field.maximum)
      ) {
        const range = [field.minimum, field.maximum].some((b) => b !== undefined)
          ? ` from ${field.minimum ?? '…'} to ${field.maximum ?? '…'}`
          : ''
        asker.say(`${field.title}: a${field.type === 'integer' ? ' whole' : ''} number${range}, please`)
        continue
      }
      return n
    }
    if (field.items) {
      const picked = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
      const known = new Set(field.items.map((o) => o.value))
      const unknown = picked.filter((v) => !known.has(v))
      if (unknown.length > 0) {
        asker.say(`${field.title}: not one of the choices: ${unknown.join(', ')}`)
        continue
      }
      return picked
    }
    return value
  }
}

async function elicit(
  asker: Asker,
  request: ElicitationRequest,
  signal: AbortSignal,
): Promise<ElicitationAnswer> {
  const width = asker.columns
  const title: Row[] = [
    [],
    [span(`The MCP server ${request.server} asks:`, { bold: true, color: 'yellow' })],
    ...wrap([span(request.message)], width, { first: [span('  ')] }),
  ]
  if (request.mode === 'url') {
    title.push(
      ...wrap([span(request.url, { underline: true, color: 'blue' })], width, { first: [span('  ')] }),
    )
    const answer = await asker.choose<'accept' | 'decline'>(
      title,
      [
        { label: 'Open it (I will, in my browser)', letter: 'y', value: 'accept' },
        { label: 'No', letter: 'n', value: 'decline' },
      ],
      signal,
    )
    return { action: answer.type === 'picked' ? answer.value : 'cancel' }
  }
  const fields = fieldsOf(request.requestedSchema)
  const start = await asker.choose<'accept' | 'decline'>(
    title,
    [
      {
        label: `Answer (${fields.length} field${fields.length === 1 ? '' : 's'})`,
        letter: 'y',
        value: 'accept',
      },
      { label: 'Decline', letter: 'n', value: 'decline' },
    ],
    signal,
  )
  if (start.type !== 'picked') return { action: 'cancel' }
  if (start.value === 'decline') return { action: 'decline' }
  const content: Record<string, Value> = {}
  for (const field of fields) {
    const value = await askField(asker, field, signal)
    if (value === 'cancel') return { action: 'cancel' }
    if (value !== 'skip') content[field.name] = value
  }
  return { action: 'accept', content }
}

async function confirmSampling(
  asker: Asker,
  request: SamplingConfirmation,
  signal: AbortSignal,
): Promise<SamplingDecision> {
  const width = asker.columns
  const last = request.messages.at(-1)
  const title: Row[] = [
    [],
    [
      span(`The MCP server ${request.server} asks the model for a completion`, {
        bold: true,
        color: 'yellow',
      }),
    ],
    [
      span(
        `  ${request.model} · at most ${request.maxTokens} tokens · ${request.messages.length} message${request.messages.length === 1 ? '' : 's'}`,
        { dim: true },
      ),
    ],
  ]
  if (request.systemPrompt)
    title.push(
      ...wrap([span(`system: ${truncate(request.systemPrompt, 200)}`, { dim: true })], width, {
        first: [span('  ')],
      }),
    )
  if (last)
    title.push(...wrap([span(`${last.role}: ${truncate(last.text, 300)}`)], width, { first: [span('  ')] }))
  const answer = await asker.choose<'allow' | 'allow-always' | 'deny'>(
    title,
    [
      { label: 'Yes', letter: 'y', value: 'allow' },
      {
        label: `Yes, and don't ask again for ${request.server} in this session`,
        letter: 'a',
        value: 'allow-always',
      },
      { label: 'No', letter: 'n', value: 'deny' },
    ],
    signal,
  )
  if (answer.type !== 'picked' || answer.value === 'deny')
    return { action: 'deny', reason: 'the user declined' }
  return { action: answer.value }
}

/** The terminal's answers to what MCP servers ask. */
export function mcpQuestions(asker: Asker): McpUserInteraction {
  return {
    confirmSampling: (request, signal) => asker.exclusive(() => confirmSampling(asker, request, signal)),
    elicit: (request, signal) => asker.exclusive(() => elicit(asker, request, signal)),
    async authorize(request) {
      asker.say(
        `The MCP server ${request.server} needs a login. Open this address in your browser:\n  ${request.url}`,
      )
    },
  }
}
