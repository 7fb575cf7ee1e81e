/**
 * Tool input schemas rewritten for node-llama-cpp's JSON-schema grammar, which reads a subset of
 * JSON Schema and reads some of it differently:
 * - `anyOf` becomes the `null` rule: it is rewritten to `oneOf`;
 * - `properties` without `type` becomes `null` too: `type: 'object'` is added;
 * - `required` is ignored (every property is always generated): an optional property is made
 *   nullable instead, and `stripOptionalNulls` drops the nulls from the call, so a tool sees the
 *   property left out, as the schema meant;
 * - keywords the grammar does not enforce (`pattern`, `minimum`, `maximum`, `format`, ...) are
 *   dropped, so nothing pretends to be checked there (the tool's own validation still runs).
 */
type Schema = { [key: string]: unknown }

const KEEP = new Set([
  'type',
  'properties',
  'items',
  'prefixItems',
  'enum',
  'const',
  'oneOf',
  'description',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'additionalProperties',
  '$ref',
  '$defs',
])

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nullable(schema: Schema): Schema {
  const type = schema.type
  if (typeof type === 'string' && schema.enum === undefined && schema.const === undefined)
    return type === 'null' ? schema : { ...schema, type: [type, 'null'] }
  if (Array.isArray(type) && schema.enum === undefined)
    return type.includes('null') ? schema : { ...schema, type: [...type, 'null'] }
  return { oneOf: [schema, { type: 'null' }] }
}

export function normalizeToolSchema(input: unknown): Schema {
  if (!isSchema(input)) return {}
  const out: Schema = {}
  for (const [key, value] of Object.entries(input)) {
    if (key === 'anyOf' && Array.isArray(value)) out.oneOf = value.map(normalizeToolSchema)
    else if (key === 'oneOf' && Array.isArray(value)) out.oneOf = value.map(normalizeToolSchema)
    else if (key === 'items' && isSchema(value)) out.items = normalizeToolSchema(value)
    else if (key === '$defs' && isSchema(value))
      out.$defs = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeToolSchema(v)]))
    else if (key === 'additionalProperties')
      out.additionalProperties = isSchema(value) ? normalizeToolSchema(value) : value
    else if (key !== 'properties' && KEEP.has(key)) out[key] = value
  }
  if (isSchema(input.properties)) {
    const required = new Set(
      Array.isArray(input.required) ? input.required.filter((r) => typeof r === 'string') : [],
    )
    out.type ??= 'object'
    out.properties = Object.fromEntries(
      Object.entries(input.properties).map(([name, schema]) => {
        const normal = normalizeToolSchema(schema)
        return [name, required.has(name) ? normal : nullable(normal)]
      }),
    )
  }
  return out
}

/** Drops the nulls the grammar had to write for optional properties (see normalizeToolSchema). */
export function stripOptionalNulls(value: unknown, schema: unknown): unknown {
  if (!isSchema(schema) || !isSchema(value) || !isSchema(schema.properties)) return value
  const properties = schema.properties
  const required = new Set(Array.isArray(schema.required) ? schema.required : [])
  const out: Schema = {}
  for (const [key, item] of Object.entries(value)) {
    if (item === null && !required.has(key)) continue
    out[key] = stripOptionalNulls(item, properties[key])
  }
  return out
}
