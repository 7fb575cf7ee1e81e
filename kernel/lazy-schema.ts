/**
 * Config schemas built on first use, with the defaults the build computed for them.
 *
 * A plugin's config schema made at module load costs its zod objects at every start (sandbox's
 * about 6 ms), and the kernel validates every slice, present or not: an absent slice is `{}`. So
 * `lazySchema(id, build)` stands for the schema `build()` makes, and makes it only when it is
 * asked for something the build did not precompute. scripts/bundle-bin.mjs runs every registered
 * schema on `{}` and writes the result into the bundled command (`__TAU_CONFIG_DEFAULTS__`) for
 * each schema whose result is a fixed point (parsing it again gives it back) and plain JSON. There,
 * validating `{}` (an absent slice) or an object deep-equal to those defaults (the kernel's
 * validated slice, read by another plugin) gives a fresh copy of them without building the schema;
 * any other input builds it and validates as always, with the same errors. From source and from
 * the library's dist/ nothing is precomputed: every call builds the schema first.
 * test/e2e/bundle.test.ts compares the bundled command's `tau config` with the sources'.
 */
import { isDeepStrictEqual } from 'node:util'

// A string of JSON, parsed once (see plugins/tools/builtins/defaults.ts for why a string).
declare const __TAU_CONFIG_DEFAULTS__: string | undefined
const BUILT_DEFAULTS: Readonly<Record<string, unknown>> | undefined =
  typeof __TAU_CONFIG_DEFAULTS__ === 'string' ? JSON.parse(__TAU_CONFIG_DEFAULTS__) : undefined

const registered = new Map<string, () => unknown>()

function isEmptyPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && Reflect.ownKeys(value).length === 0
}

/**
 * A schema `build()` makes on first use, typed as that schema. `id` names it in the build's table
 * (one id per schema, e.g. the plugin's config key). parse, safeParse and `~standard.validate`
 * answer `{}` (and the defaults themselves) from the build's table when it has `id`; everything
 * else goes to the built schema.
 */
export function lazySchema<T extends object>(id: string, build: () => T): T {
  let built: T | undefined
  const schema = (): T => {
    built ??= build()
    return built
  }
  registered.set(id, schema)
  const defaults = BUILT_DEFAULTS?.[id]
  const known = (input: unknown): boolean =>
    defaults !== undefined && (isEmptyPlainObject(input) || isDeepStrictEqual(input, defaults))
  const copy = (): unknown => structuredClone(defaults)
  const call = (name: string, input: unknown, rest: unknown[]): unknown => {
    const method = Reflect.get(schema(), name) as (...args: unknown[]) => unknown
    return method.call(schema(), input, ...rest)
  }
  const fast: Record<PropertyKey, unknown> = {
    parse: (input: unknown, ...rest: unknown[]) => (known(input) ? copy() : call('parse', input, rest)),
    safeParse: (input: unknown, ...rest: unknown[]) =>
      known(input) ? { success: true, data: copy() } : call('safeParse', input, rest),
  }
  const standard = {
    version: 1,
    vendor: 'zod',
    validate: (input: unknown): unknown =>
      known(input)
        ? { value: copy() }
        : (Reflect.get(schema(), '~standard') as { validate(input: unknown): unknown }).validate(input),
  }
  return new Proxy({} as T, {
    get(_target, property) {
      // Without building: definePlugin checks it, and the kernel validates through it.
      if (property === '~standard') return standard
      if (defaults !== undefined && (property === 'parse' || property === 'safeParse')) return fast[property]
      const value = Reflect.get(schema(), property)
      return typeof value === 'function' ? value.bind(schema()) : value
    },
    has: (_target, property) => property === '~standard' || property in schema(),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor: (_target, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), property)
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true }
    },
    getPrototypeOf: () => Object.getPrototypeOf(schema()),
  })
}

/**
 * For the build (scripts/bundle-bin.mjs) and its test: each registered schema's result for `{}`,
 * by id, where that result is plain JSON and a fixed point of the schema. `parse` is the schema's
 * own (a zod schema's `safeParse`).
 */
export function lazySchemaDefaults(): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [id, schema] of registered) {
    const zod = schema() as { safeParse?(input: unknown): { success: boolean; data?: unknown } }
    if (typeof zod.safeParse !== 'function') continue
    const first = zod.safeParse({})
    if (!first.success) continue
    const again = zod.safeParse(first.data)
    if (!again.success || !isDeepStrictEqual(again.data, first.data)) continue
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(first.data)), first.data)) continue
    out[id] = first.data
  }
  return out
}
