/**
 * kernel/lazy-schema.ts from source, where the build's table is not defined: the schema is made
 * on first use only, and then answers as the schema itself (values, errors, zod's methods).
 * The bundled command's fast path (the build's defaults for `{}`) is test/e2e/bundle.test.ts's.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePlugin, lazySchema, lazySchemaDefaults } from '../../kernel/index.js'

describe('lazySchema', () => {
  it('builds the schema on first use, not when defined or given to definePlugin', () => {
    let builds = 0
    const schema = lazySchema('lazy-test-built-once', () => {
      builds++
      return z.strictObject({ n: z.number().default(1) })
    })
    const plugin = definePlugin({ name: 'lazy-test', config: schema, setup() {} })
    expect(plugin.config).toBe(schema)
    expect(builds).toBe(0)
    expect(schema.parse({})).toEqual({ n: 1 })
    expect(schema.parse({ n: 2 })).toEqual({ n: 2 })
    expect(builds).toBe(1)
  })

  it('answers as the schema it stands for: parse, safeParse, ~standard.validate and the rest of zod', async () => {
    const make = () =>
      z.strictObject({ mode: z.enum(['a', 'b']).default('a'), list: z.array(z.string()).default([]) })
    const real = make()
    const lazy = lazySchema('lazy-test-same', make)
    for (const input of [{}, { mode: 'b' }, { mode: 'c' }, { extra: 1 }, undefined, 'x']) {
      expect(lazy.safeParse(input)).toEqual(real.safeParse(input))
      expect(await lazy['~standard'].validate(input)).toEqual(await real['~standard'].validate(input))
    }
    expect(() => lazy.parse({ mode: 'c' })).toThrow(z.ZodError)
    expect(lazy.optional().parse(undefined)).toBeUndefined()
    expect(Object.keys(lazy.shape)).toEqual(['mode', 'list'])
    // A fresh object each time, never one shared between callers.
    expect(lazy.parse({})).not.toBe(lazy.parse({}))
  })

  it("the build's table: each schema's result for {} where it parses to itself and is plain JSON", () => {
    lazySchema('lazy-test-table', () =>
      z.strictObject({ n: z.number().default(3), s: z.string().optional() }),
    )
    // Not a fixed point: {} gives 'x', and parsing 'x' gives 'xx'.
    lazySchema('lazy-test-transform', () =>
      z.strictObject({
        s: z
          .string()
          .default('x')
          .transform((v) => `${v}x`),
      }),
    )
    lazySchema('lazy-test-not-json', () => z.strictObject({ at: z.date().default(new Date(0)) }))
    lazySchema('lazy-test-required', () => z.strictObject({ n: z.number() }))
    const table = lazySchemaDefaults()
    expect(table['lazy-test-table']).toEqual({ n: 3 })
    expect(table).not.toHaveProperty('lazy-test-transform')
    expect(table).not.toHaveProperty('lazy-test-not-json')
    expect(table).not.toHaveProperty('lazy-test-required')
  })
})
