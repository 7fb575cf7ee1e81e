import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { definePlugin, defineService, type SessionInfo } from '../../kernel/index.js'
import { createTestKernel } from '../../kernel/testing/index.js'

interface Seen {
  readonly mode: string
  readonly network: { readonly mode: string; readonly allow: readonly string[] }
}

const seenRef = defineService<Seen, 'session'>('boxy.seen', { scope: 'session' })

/** A plugin whose session service reads its slice through SessionInfo.settings(). */
const boxy = definePlugin({
  name: 'boxy',
  config: z
    .object({
      mode: z.enum(['local', 'bwrap']).default('local'),
      network: z
        .object({ mode: z.enum(['none', 'full']).default('full'), allow: z.array(z.string()).default([]) })
        .strict()
        .default({ mode: 'full', allow: [] }),
    })
    .strict(),
  setup(ctx) {
    ctx.provide(seenRef, (session: SessionInfo) => session.settings('boxy') as Seen)
  },
})

const plain = definePlugin({ name: 'plain', setup() {} })

describe('per-session settings', () => {
  it('merge a session override over the global slice, validated by the plugin schema, for that session only', async () => {
    const kernel = await createTestKernel({
      plugins: [boxy],
      config: { boxy: { network: { mode: 'none', allow: ['example.org'] } } },
    })
    const boxed = kernel.createSession({ id: 'boxed', settings: { boxy: { mode: 'bwrap' } } })
    const other = kernel.createSession({ id: 'other' })
    // Nested objects merge key by key: the global network.allow stays.
    expect(boxed.resolve(seenRef)).toEqual({
      mode: 'bwrap',
      network: { mode: 'none', allow: ['example.org'] },
    })
    expect(other.resolve(seenRef)).toEqual({
      mode: 'local',
      network: { mode: 'none', allow: ['example.org'] },
    })
    expect(Object.isFrozen(boxed.overrides)).toBe(true)
    expect(Object.isFrozen(boxed.overrides.boxy)).toBe(true)
    expect(other.overrides).toEqual({})
    // The global config is untouched by a session's override.
    expect((kernel.config.boxy as Seen).mode).toBe('local')
    await kernel.stop()
  })

  it('refuse a bad field with an error naming the session, the plugin and the field', async () => {
    const kernel = await createTestKernel({ plugins: [boxy] })
    let caught: unknown
    try {
      kernel.createSession({ id: 's-bad', settings: { boxy: { mode: 'docker' } } })
    } catch (error) {
      caught = error
    }
    expect(caught).toMatchObject({ code: 'TAU_SESSION_SETTINGS_INVALID', plugin: 'boxy' })
    expect((caught as Error).message).toMatch(
      /session s-bad: invalid settings: settings\.boxy\.mode: .*\(plugin 'boxy'\)/,
    )
    await kernel.stop()
  })

  it('refuse a key no plugin reads, and a plugin without config, all problems at once', async () => {
    const kernel = await createTestKernel({ plugins: [boxy, plain] })
    let caught: unknown
    try {
      kernel.createSession({
        id: 's2',
        settings: { nope: {}, plain: {}, boxy: { network: { mode: 'some' } } },
      })
    } catch (error) {
      caught = error
    }
    expect(caught).toMatchObject({ code: 'TAU_SESSION_SETTINGS_INVALID' })
    const details = (caught as { details: string[] }).details
    expect(details).toHaveLength(3)
    expect(details.join('\n')).toMatch(/settings\.nope: no loaded plugin reads the config key 'nope'/)
    expect(details.join('\n')).toMatch(/settings\.plain: plugin 'plain' has no config/)
    expect(details.join('\n')).toMatch(/settings\.boxy\.network\.mode: /)
    await kernel.stop()
  })
})
