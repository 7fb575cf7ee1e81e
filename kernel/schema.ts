/**
 * Config validation through the Standard Schema interface. Plugins write their schemas with zod
 * (or any Standard Schema library); the kernel only calls `~standard.validate`, so it never has
 * to load a validation library itself and a plugin's zod copy is never confused with ours.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'

export type { StandardSchemaV1 }

export interface ConfigProblem {
  /** Dotted path from the config root, e.g. `providers.ollama.timeout`. */
  readonly path: string
  readonly message: string
  /** The plugin whose slice it is, when known. */
  readonly plugin?: string
}

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    typeof value === 'object' &&
    value !== null &&
    '~standard' in value &&
    typeof (value as StandardSchemaV1)['~standard']?.validate === 'function'
  )
}

export function joinPath(
  base: string,
  segments: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment>,
): string {
  let out = base
  for (const segment of segments) {
    const key = typeof segment === 'object' ? segment.key : segment
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

/** A short, readable rendering of a value for "got ..." in messages. Never prints secrets in full. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value
    return JSON.stringify(shown)
  }
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'function') return 'a function'
  return String(value)
}

function valueAt(
  root: unknown,
  segments: ReadonlyArray<PropertyKey | StandardSchemaV1.PathSegment>,
): unknown {
  let current: unknown = root
  for (const segment of segments) {
    const key = typeof segment === 'object' ? segment.key : segment
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

/**
 * Rewrites a validator's message into "expected X, got Y". zod issues carry `code` and
 * `expected`; other libraries' messages are used as they are, with the offending value added.
 */
function issueMessage(issue: StandardSchemaV1.Issue, value: unknown): string {
  const extra = issue as StandardSchemaV1.Issue & { code?: string; expected?: string; keys?: string[] }
  if (extra.code === 'invalid_type' && typeof extra.expected === 'string') {
    return value === undefined
      ? `required (expected ${extra.expected})`
      : `expected ${extra.expected}, got ${describeValue(value)}`
  }
  if (extra.code === 'unrecognized_keys' && Array.isArray(extra.keys)) {
    return `unknown key${extra.keys.length > 1 ? 's' : ''} ${extra.keys.map((k) => `'${k}'`).join(', ')}`
  }
  if (value !== undefined && typeof value !== 'object')
    return `${issue.message} (got ${describeValue(value)})`
  return issue.message
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: ConfigProblem[] }

/** Validates `input` (found at `basePath` in the config) with a Standard Schema. */
export async function validateWith<S extends StandardSchemaV1>(
  schema: S,
  input: unknown,
  basePath: string,
  plugin?: string,
): Promise<ValidationResult<StandardSchemaV1.InferOutput<S>>> {
  return resultOf(await schema['~standard'].validate(input), input, basePath, plugin)
}

/** Turns a Standard Schema result into a ValidationResult, problems named by config path. */
export function resultOf<T>(
  result: StandardSchemaV1.Result<T>,
  input: unknown,
  basePath: string,
  plugin?: string,
): ValidationResult<T> {
  if (result.issues === undefined) return { ok: true, value: result.value }
  const problems = result.issues.map((issue) => {
    const segments = issue.path ?? []
    const problem: { path: string; message: string; plugin?: string } = {
      path: joinPath(basePath, segments),
      message: issueMessage(issue, valueAt(input, segments)),
    }
    if (plugin !== undefined) problem.plugin = plugin
    return problem
  })
  return { ok: false, problems }
}
