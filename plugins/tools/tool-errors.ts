/**
 * Tool errors in the words Claude Code uses, which models are trained on and scripts grep for:
 * an error the tool call itself caused (bad input, an unknown tool, a refusal before anything ran,
 * a throw) is wrapped in `<tool_use_error>…</tool_use_error>`; an invalid input reads
 * `InputValidationError: Read failed due to the following issue:` with one line per problem.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'

const OPEN = '<tool_use_error>'
const CLOSE = '</tool_use_error>'

/** Wraps an error text once (an already wrapped text is left as it is). */
export function toolUseError(text: string): string {
  return isToolUseError(text) ? text : `${OPEN}${text}${CLOSE}`
}

export function isToolUseError(text: string): boolean {
  return text.startsWith(OPEN) && text.endsWith(CLOSE)
}

/** The text inside the tags (for `tool_use_result`, which Claude Code gives without them). */
export function unwrapToolUseError(text: string): string {
  return isToolUseError(text) ? text.slice(OPEN.length, -CLOSE.length) : text
}

/** `<tool_use_error>InputValidationError: X failed due to the following issue(s):\n…</tool_use_error>`. */
export function inputValidationError(toolName: string, lines: readonly string[]): string {
  const noun = lines.length === 1 ? 'issue' : 'issues'
  return toolUseError(
    `InputValidationError: ${toolName} failed due to the following ${noun}:\n${lines.join('\n')}`,
  )
}

/**
 * One line per schema issue, as Claude Code words them, in its order: missing parameters, then
 * unexpected ones (one line per key), then wrong types and the rest (the issue's own message).
 */
export function issueLines(issues: readonly StandardSchemaV1.Issue[]): string[] {
  const ranked = issues.flatMap((issue): Array<[number, string]> => {
    const path = (issue.path ?? [])
      .map((segment) => (typeof segment === 'object' ? segment.key : segment))
      .map((segment, i) =>
        typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`,
      )
      .join('')
    const extra = issue as StandardSchemaV1.Issue & { code?: unknown; keys?: unknown }
    if (extra.code === 'unrecognized_keys' && Array.isArray(extra.keys)) {
      return extra.keys.map((key) => [
        1,
        `An unexpected parameter \`${path === '' ? '' : `${path}.`}${String(key)}\` was provided`,
      ])
    }
    const type = /expected (\w+), received (\w+)/.exec(issue.message)
    if (path !== '' && type) {
      return type[2] === 'undefined'
        ? [[0, `The required parameter \`${path}\` is missing`]]
        : [[2, `The parameter \`${path}\` type is expected as \`${type[1]}\` but provided as \`${type[2]}\``]]
    }
    return [[2, path === '' ? issue.message : `The parameter \`${path}\` is invalid: ${issue.message}`]]
  })
  // A stable sort: issues of one kind keep their order.
  return ranked.sort((a, b) => a[0] - b[0]).map(([, line]) => line)
}
