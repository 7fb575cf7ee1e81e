/**
 * What Claude Code's `-p` flags need beyond parsing: model aliases (the subagents plugin's table), user turns as JSON lines on
 * stdin (`--input-format stream-json`), and the check of a structured answer (`--json-schema`).
 */
import { z } from 'zod'

export { MODEL_ALIASES, resolveModel } from '../subagents/index.js'

/** One user turn read from stdin, and the line as read (for --replay-user-messages). */
export interface UserTurn {
  readonly prompt: string
  readonly message: Record<string, unknown>
}

/**
 * Reads `{"type":"user","message":{"role":"user","content":...}}` lines, as Claude Code's
 * `--input-format stream-json` takes them; content is a string or text blocks. A line that is
 * not such a message throws an error naming its line number.
 */
export async function* userTurns(stdin: NodeJS.ReadableStream): AsyncGenerator<UserTurn> {
  // Loaded here: a run without --input-format stream-json never reads a line (node:readline is
  // about 1 ms of every start's CPU).
  const { createInterface } = process.getBuiltinModule('node:readline')
  const lines = createInterface({ input: stdin, crlfDelay: Number.POSITIVE_INFINITY })
  let number = 0
  for await (const line of lines) {
    number++
    if (line.trim() === '') continue
    let data: unknown
    try {
      data = JSON.parse(line)
    } catch (error) {
      throw new Error(`stdin line ${number} is not JSON: ${(error as Error).message}`)
    }
    const message = (data as { type?: unknown; message?: unknown } | null)?.message
    if ((data as { type?: unknown }).type !== 'user' || typeof message !== 'object' || message === null) {
      throw new Error(
        `stdin line ${number}: expected {"type":"user","message":{"role":"user","content":"..."}}`,
      )
    }
    const content = (message as { content?: unknown }).content
    const prompt =
      typeof content === 'string'
        ? content
        : Array.isArray(content)
          ? content
              .filter(
                (b): b is { type: 'text'; text: string } => b?.type === 'text' && typeof b.text === 'string',
              )
              .map((b) => b.text)
              .join('\n')
          : ''
    if (prompt.trim() === '') throw new Error(`stdin line ${number}: the message has no text`)
    yield { prompt, message: message as Record<string, unknown> }
  }
}

/** The instruction added to the system prompt with --json-schema. */
export function schemaInstruction(schema: Record<string, unknown>): string {
  return `Your final answer must be only a JSON value that matches this JSON Schema (no prose, no code fence):\n${JSON.stringify(schema)}`
}

export type SchemaCheck = { ok: true; value: unknown } | { ok: false; problem: string }

/** Reads the answer as JSON (a ```json fence is allowed) and checks it against the schema. */
export function checkAnswer(text: string, schema: Record<string, unknown>): SchemaCheck {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n```\s*$/.exec(text)
  let value: unknown
  try {
    value = JSON.parse(fenced ? (fenced[1] ?? '') : text)
  } catch (error) {
    return { ok: false, problem: `the answer is not JSON (${(error as Error).message})` }
  }
  let validator: z.ZodType
  try {
    validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0])
  } catch (error) {
    return { ok: false, problem: `the JSON Schema cannot be used: ${(error as Error).message}` }
  }
  const result = validator.safeParse(value)
  if (result.success) return { ok: true, value }
  const issues = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`,
  )
  return { ok: false, problem: issues.join('; ') }
}
