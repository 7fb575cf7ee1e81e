/**
 * Tool-call arguments as models really send them. Valid JSON passes through; a few kinds of
 * breakage are repaired where there is only one reading of what the model meant:
 *
 * - wrapped in a markdown fence (```json ... ```),
 * - trailing commas before `}` or `]`,
 * - cut off after a complete value (the closing brackets are missing),
 * - an object encoded twice (a JSON string holding the object),
 * - empty arguments for a tool without parameters.
 *
 * Anything else (cut inside a string, after a key, plain garbage) is an error the agent hands
 * back to the model, which then retries; it never crashes the loop.
 */

export type ToolArgumentsResult =
  | { readonly ok: true; readonly value: Record<string, unknown>; readonly repaired: boolean }
  | { readonly ok: false; readonly error: string }

const FENCE = /^\s*```[a-zA-Z]*\s*\n?([\s\S]*?)\n?\s*```\s*$/

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/**
 * One pass over the text outside strings: drops trailing commas, and works out which brackets
 * are still open and whether the text ends inside a string or right after a key or separator.
 */
function scan(text: string): { cleaned: string; open: string[]; inString: boolean; endsIncomplete: boolean } {
  let cleaned = ''
  const open: string[] = []
  let inString = false
  let escaped = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (inString) {
      cleaned += ch
      if (escaped) escaped = false
      else if (ch === '\\') escaped = true
      else if (ch === '"') inString = false
      continue
    }
    if (ch === '"') inString = true
    else if (ch === '{' || ch === '[') open.push(ch === '{' ? '}' : ']')
    else if (ch === '}' || ch === ']') {
      // A comma right before a closer is a trailing comma: drop it.
      cleaned = cleaned.replace(/,\s*$/, (m) => m.slice(1))
      open.pop()
    }
    cleaned += ch
  }
  const tail = cleaned.trimEnd()
  const last = tail[tail.length - 1]
  // Cut after a key, a colon, or inside a number or literal: we cannot know what was meant.
  const inObject = open[open.length - 1] === '}'
  const afterKey = inObject && last === '"' && /[{,]\s*"(?:[^"\\]|\\.)*"\s*$/.test(tail)
  const partialScalar = open.length > 0 && /[-+.\deE]$|[a-z]$/.test(tail) && !/(true|false|null)$/.test(tail)
  const endsIncomplete = last === ':' || afterKey || partialScalar
  return { cleaned, open, inString, endsIncomplete }
}

export function parseToolArguments(raw: unknown): ToolArgumentsResult {
  if (isObject(raw)) return { ok: true, value: raw, repaired: false }
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return { ok: true, value: {}, repaired: raw !== undefined && raw !== null }
  }
  if (typeof raw !== 'string')
    return { ok: false, error: `tool arguments must be a JSON object, got ${typeof raw}` }

  const direct = tryParse(raw)
  if (direct.ok) {
    if (isObject(direct.value)) return { ok: true, value: direct.value, repaired: false }
    if (typeof direct.value === 'string') {
      const inner = tryParse(direct.value)
      if (inner.ok && isObject(inner.value)) return { ok: true, value: inner.value, repaired: true }
    }
    return {
      ok: false,
      error: `tool arguments must be a JSON object, got ${JSON.stringify(direct.value).slice(0, 80)}`,
    }
  }

  let text = raw.trim()
  const fenced = FENCE.exec(text)
  if (fenced) text = fenced[1]!.trim()
  const { cleaned, open, inString, endsIncomplete } = scan(text)
  if (inString || endsIncomplete) {
    return {
      ok: false,
      error: `tool arguments are cut off mid-value and cannot be repaired: ${preview(raw)}`,
    }
  }
  let candidate = cleaned.trimEnd().replace(/,$/, '')
  for (let i = open.length - 1; i >= 0; i--) candidate += open[i]
  const repaired = tryParse(candidate)
  if (repaired.ok && isObject(repaired.value)) return { ok: true, value: repaired.value, repaired: true }
  return { ok: false, error: `tool arguments are not valid JSON: ${preview(raw)}` }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text)
}
