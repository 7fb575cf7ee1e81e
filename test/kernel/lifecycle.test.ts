import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createKernel, definePlugin, defineService, STAGE, type TauPlugin } from '../../kernel/index.js'
import { createTestKernel } from '../../kernel/testing/index.js'

/** A plugin that records its lifecycle into a shared journal. */
function recorder(
  name: string,
  journal: string[],
  extra: Partial<Parameters<typeof definePlugin>[0]> = {},
): TauPlugin {
  return definePlugin({
    name,
    ...extra,
    setup(ctx) {
      journal.push(`setup:${name}`)
      ctx.hooks.start.tap(() => {
        journal.push(`start:${name}`)
      })
      ctx.hooks.ready.tap(() => {
        journal.push(`ready:${name}`)
      })
      ctx.hooks.stop.tap(() => {
        journal.push(`stop:${name}`)
      })
      return () => {
        journal.push(`teardown:${name}`)
      }
    },
  })
}

describe('kernel lifecycle', () => {
  it('sets up in dependency order, whatever the registration order, and stops in reverse', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      plugins: [
        recorder('c', journal, { dependsOn: ['b'] }),
        recorder('b', journal, { dependsOn: ['a'] }),
        recorder('a', journal),
      ],
    })
    await kernel.start()
    expect(kernel.state).toBe('running')
    expect(kernel.plugins.map((p) => p.name)).toEqual(['a', 'b', 'c'])
    await kernel.stop()
    expect(journal).toEqual([
      'setup:a',
      'setup:b',
      'setup:c',
      'start:a',
      'start:b',
      'start:c',
      'ready:a',
      'ready:b',
      'ready:c',
      'stop:c',
      'stop:b',
      'stop:a',
      'teardown:c',
      'teardown:b',
      'teardown:a',
    ])
    expect(kernel.state).toBe('stopped')
  })

  it('keeps registration order between independent plugins and honours optionalDependsOn when present', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      plugins: [
        recorder('x', journal, { optionalDependsOn: ['z', 'absent'] }),
        recorder('y', journal),
        recorder('z', journal),
      ],
    })
    await kernel.start()
    expect(kernel.plugins.map((p) => p.name)).toEqual(['y', 'z', 'x'])
    await kernel.stop()
  })

  it('stop() is idempotent and concurrent calls share one run', async () => {
    const journal: string[] = []
    const kernel = createKernel({ plugins: [recorder('a', journal)] })
    await kernel.start()
    await Promise.all([kernel.stop(), kernel.stop()])
    await kernel.stop()
    expect(journal.filter((line) => line === 'teardown:a')).toHaveLength(1)
  })

  it('refuses a second start and use after stop', async () => {
    const kernel = createKernel({ plugins: [] })
    await kernel.start()
    await expect(kernel.start()).rejects.toMatchObject({ code: 'TAU_KERNEL_STATE' })
    await kernel.stop()
    expect(() => kernel.createSession()).toThrow(/needs a started kernel/)
  })

  it('a setup that throws stops the plugins already set up and names the plugin', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      plugins: [
        recorder('a', journal),
        definePlugin({
          name: 'broken',
          dependsOn: ['a'],
          setup() {
            throw new Error('cannot open the widget')
          },
        }),
        recorder('later', journal, { dependsOn: ['broken'] }),
      ],
    })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_SETUP_FAILED',
      plugin: 'broken',
      message: "plugin 'broken': cannot open the widget",
    })
    expect(journal).toEqual(['setup:a', 'stop:a', 'teardown:a'])
    expect(kernel.state).toBe('stopped')
  })

  it('a setup that never settles times out with a hint, and the kernel still stops', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      setupTimeout: 50,
      plugins: [
        recorder('a', journal),
        definePlugin({ name: 'stuck', dependsOn: ['a'], setup: () => new Promise<void>(() => undefined) }),
      ],
    })
    const error = await kernel.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_SETUP_TIMEOUT', plugin: 'stuck' })
    expect((error as { hint: string }).hint).toMatch(/never settles/)
    expect(journal).toContain('teardown:a')
  })

  it('a start tap that throws fails start with the plugin and hook named, and every plugin is stopped', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      plugins: [
        recorder('a', journal),
        definePlugin({
          name: 'bad-start',
          setup(ctx) {
            ctx.hooks.start.tapPromise(async () => {
              throw new Error('port in use')
            })
            return () => {
              journal.push('teardown:bad-start')
            }
          },
        }),
      ],
    })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_START_FAILED',
      plugin: 'bad-start',
      hook: 'kernel.start',
    })
    expect(journal).toContain('teardown:bad-start')
    expect(journal).toContain('teardown:a')
    expect(journal).not.toContain('ready:a')
  })

  it('one failing teardown does not skip the others, and stop reports it', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      plugins: [
        recorder('first', journal),
        definePlugin({
          name: 'bad-teardown',
          dependsOn: ['first'],
          setup: () => () => {
            throw new Error('socket already closed')
          },
        }),
        recorder('last', journal, { dependsOn: ['bad-teardown'] }),
      ],
    })
    await kernel.start()
    await expect(kernel.stop()).rejects.toMatchObject({
      code: 'TAU_TEARDOWN_FAILED',
      plugin: 'bad-teardown',
      message: "plugin 'bad-teardown': teardown failed: socket already closed",
    })
    expect(journal).toContain('teardown:last')
    expect(journal).toContain('teardown:first')
  })

  it('a teardown that hangs is cut off at its time limit and the rest still run', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      teardownTimeout: 50,
      plugins: [
        recorder('first', journal),
        definePlugin({
          name: 'hangs',
          dependsOn: ['first'],
          setup: () => () => new Promise<void>(() => undefined),
        }),
      ],
    })
    await kernel.start()
    await expect(kernel.stop()).rejects.toMatchObject({ code: 'TAU_TEARDOWN_FAILED', plugin: 'hangs' })
    expect(journal).toContain('teardown:first')
  })

  it('several failing teardowns are all reported', async () => {
    const failing = (name: string) =>
      definePlugin({
        name,
        setup: () => () => {
          throw new Error(`${name} broke`)
        },
      })
    const kernel = createKernel({ plugins: [failing('one'), failing('two')] })
    await kernel.start()
    const error = await kernel.stop().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_TEARDOWN_FAILED' })
    expect((error as { details: string[] }).details).toEqual([
      "plugin 'two': teardown failed: two broke",
      "plugin 'one': teardown failed: one broke",
    ])
  })

  it('aborts ctx.signal when stopping', async () => {
    let signal: AbortSignal | undefined
    const kernel = createKernel({
      plugins: [
        definePlugin({
          name: 'listener',
          setup(ctx) {
            signal = ctx.signal
          },
        }),
      ],
    })
    await kernel.start()
    expect(signal?.aborted).toBe(false)
    await kernel.stop()
    expect(signal?.aborted).toBe(true)
  })

  it('ctx.signal takes a listener per concurrent run without a MaxListenersExceededWarning', async () => {
    let signal: AbortSignal | undefined
    const kernel = createKernel({
      plugins: [
        definePlugin({
          name: 'listener',
          setup(ctx) {
            signal = ctx.signal
          },
        }),
      ],
    })
    await kernel.start()
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    const aborted: number[] = []
    try {
      for (let i = 0; i < 40; i++) signal?.addEventListener('abort', () => aborted.push(i))
      await kernel.stop()
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    expect(aborted).toHaveLength(40)
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
  })

  it('start({ until: "setup" }) sets up without running start taps', async () => {
    const journal: string[] = []
    const kernel = createKernel({ plugins: [recorder('a', journal)] })
    await kernel.start({ until: 'setup' })
    await kernel.stop()
    expect(journal).toEqual(['setup:a', 'stop:a', 'teardown:a'])
  })
})

describe('configure and config validation', () => {
  it('validates every slice before any setup runs and reports all problems together', async () => {
    const journal: string[] = []
    const kernel = createKernel({
      config: { alpha: { port: 'eighty' }, providers: { beta: { timeout: 'fast' } } },
      plugins: [
        definePlugin({
          name: 'alpha',
          config: z.object({ port: z.number() }),
          setup: () => {
            journal.push('setup:alpha')
          },
        }),
        definePlugin({
          name: 'beta',
          configKey: 'providers.beta',
          config: z.object({ timeout: z.number().default(5) }),
          setup: () => {
            journal.push('setup:beta')
          },
        }),
      ],
    })
    const error = await kernel.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_CONFIG_INVALID' })
    expect((error as { details: string[] }).details).toEqual([
      `alpha.port: expected number, got "eighty" (plugin 'alpha')`,
      `providers.beta.timeout: expected number, got "fast" (plugin 'beta')`,
    ])
    expect(journal).toEqual([])
  })

  it('a single problem is the message itself and names the plugin', async () => {
    const kernel = createKernel({
      config: { providers: { ollama: { timeout: 'fast' } } },
      plugins: [
        definePlugin({
          name: 'provider-ollama',
          configKey: 'providers.ollama',
          config: z.object({ timeout: z.number() }),
          setup: () => undefined,
        }),
      ],
    })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'provider-ollama',
      message: `invalid config: providers.ollama.timeout: expected number, got "fast" (plugin 'provider-ollama')`,
    })
  })

  it('gives each plugin its parsed slice with schema defaults, and the resolved config shows them', async () => {
    let seen: unknown
    const kernel = await createTestKernel({
      config: { greeter: { name: 'Ada' } },
      plugins: [
        definePlugin({
          name: 'greeter',
          config: z.object({ name: z.string(), greeting: z.string().default('hello') }),
          setup(ctx) {
            seen = ctx.config
          },
        }),
      ],
    })
    expect(seen).toEqual({ name: 'Ada', greeting: 'hello' })
    expect(kernel.config.greeter).toEqual({ name: 'Ada', greeting: 'hello' })
    await kernel.stop()
  })

  it('reports unknown keys with a did-you-mean, top level and inside a namespace', async () => {
    const kernel = createKernel({
      config: { logLevl: 'debug', providers: { olama: {} } },
      plugins: [
        definePlugin({ name: 'provider-ollama', configKey: 'providers.ollama', setup: () => undefined }),
      ],
    })
    const error = await kernel.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_CONFIG_UNKNOWN_KEY' })
    expect((error as { details: string[] }).details).toEqual([
      "logLevl: unknown key: no kernel option or loaded plugin reads 'logLevl' (did you mean 'logLevel'?)",
      "providers.olama: unknown key: no kernel option or loaded plugin reads 'providers.olama' (did you mean 'ollama'?)",
    ])
  })

  it("a slice can hold other plugins' slices: each validates its own keys, both end up in place", async () => {
    const base = definePlugin({
      name: 'providers',
      config: z.strictObject({ retries: z.number().default(3) }),
      setup: () => undefined,
    })
    const child = definePlugin({
      name: 'provider-ollama',
      dependsOn: ['providers'],
      configKey: 'providers.ollama',
      config: z.object({ host: z.string().default('http://127.0.0.1:11434') }),
      setup: () => undefined,
    })
    const ok = createKernel({ config: { providers: { retries: 1, ollama: {} } }, plugins: [child, base] })
    await ok.start()
    expect(ok.config.providers).toEqual({ retries: 1, ollama: { host: 'http://127.0.0.1:11434' } })
    await ok.stop()
    const bad = createKernel({ config: { providers: { olama: {} } }, plugins: [base, child] })
    await expect(bad.start()).rejects.toMatchObject({
      code: 'TAU_CONFIG_UNKNOWN_KEY',
      message: expect.stringContaining("providers: unknown key 'olama'"),
    })
  })

  it('two plugins reading one config key is an error naming both', async () => {
    const kernel = createKernel({
      plugins: [
        definePlugin({ name: 'one', configKey: 'shared', setup: () => undefined }),
        definePlugin({ name: 'two', configKey: 'shared', setup: () => undefined }),
      ],
    })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_CONFIG_KEY_CONFLICT',
      plugin: 'two',
      message: "plugins 'one' and 'two' both read the config key 'shared'",
    })
  })

  it('checks the kernel keys: model must be a string; the ref is left to where a session takes it', async () => {
    const kernel = createKernel({ config: { model: 42 }, plugins: [] })
    await expect(kernel.start()).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      message: expect.stringContaining("model: expected a string like 'ollama:qwen3:8b', got 42"),
    })
    // The providers plugin checks the ref (with a suggestion) when a session takes it.
    const bare = createKernel({ config: { model: 'qwen3' }, plugins: [] })
    await bare.start()
    await bare.stop()
  })

  it('runs configure() in setup order as a waterfall before validation', async () => {
    let seen: unknown
    const kernel = createKernel({
      config: { target: {} },
      plugins: [
        definePlugin({
          name: 'target',
          config: z.object({ level: z.number() }),
          setup(ctx) {
            seen = ctx.config
          },
        }),
        definePlugin({
          name: 'filler',
          dependsOn: ['target'],
          configure: (config) => ({ ...config, target: { level: 1 } }),
          setup: () => undefined,
        }),
        definePlugin({
          name: 'bumper',
          dependsOn: ['filler'],
          configure: (config) => ({
            ...config,
            target: { level: ((config.target as { level: number }).level ?? 0) + 1 },
          }),
          setup: () => undefined,
        }),
      ],
    })
    await kernel.start()
    expect(seen).toEqual({ level: 2 })
    await kernel.stop()
  })

  it('a configure() that throws is reported with its plugin', async () => {
    const kernel = createKernel({
      plugins: [
        definePlugin({
          name: 'picky',
          configure: () => {
            throw new Error('no way')
          },
          setup: () => undefined,
        }),
      ],
    })
    await expect(kernel.start()).rejects.toMatchObject({ code: 'TAU_CONFIGURE_FAILED', plugin: 'picky' })
  })
})

describe('hooks', () => {
  it('taps are named after their plugin, ordered by stage, and errors are stamped with plugin and hook', async () => {
    const order: string[] = []
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({
          name: 'audit',
          setup(ctx) {
            ctx.hooks.ready.tap({ stage: STAGE.AUDIT }, () => {
              order.push('audit')
            })
          },
        }),
        definePlugin({
          name: 'guard',
          setup(ctx) {
            ctx.hooks.ready.tap({ stage: STAGE.GUARD }, () => {
              order.push('guard')
            })
          },
        }),
      ],
    })
    expect(order).toEqual(['guard', 'audit'])
    const ready = kernel.listHooks().find((h) => h.name === 'kernel.ready')
    expect(ready).toMatchObject({ kind: 'AsyncSeriesHook', owner: 'kernel', taps: ['guard', 'audit'] })
    await kernel.stop()
  })

  it('a plugin declares a hook set; dependents tap it through a frozen tap-only view', async () => {
    const { AsyncSeriesWaterfallHook, SyncBailHook } = await import('tapable')
    const { defineHooks } = await import('../../kernel/index.js')
    interface GreeterHooks {
      greeting: InstanceType<typeof AsyncSeriesWaterfallHook<[string]>>
      veto: InstanceType<typeof SyncBailHook<[string], boolean | undefined>>
    }
    const greeterHooks = defineHooks<GreeterHooks>('greeter')
    const greetRef = defineService<(name: string) => Promise<string>>('greeter.greet')
    let view: unknown
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({
          name: 'greeter',
          setup(ctx) {
            const hooks = ctx.declareHooks(greeterHooks, {
              greeting: new AsyncSeriesWaterfallHook<[string]>(['text']),
              veto: new SyncBailHook<[string], boolean | undefined>(['name']),
            })
            ctx.provide(greetRef, async (name) =>
              hooks.veto.call(name) ? 'no' : hooks.greeting.promise(`hello ${name}`),
            )
          },
        }),
        definePlugin({
          name: 'shout',
          dependsOn: ['greeter'],
          setup(ctx) {
            const hooks = ctx.hooksOf(greeterHooks)
            view = hooks
            hooks.greeting.tapPromise(async (text) => text.toUpperCase())
            hooks.veto.tap((name) => (name === 'mallory' ? true : undefined))
          },
        }),
        definePlugin({
          name: 'fails',
          dependsOn: ['greeter'],
          setup(ctx) {
            ctx.hooksOf(greeterHooks).greeting.tap((text) => {
              if (text.includes('BOOM')) throw new Error('cannot greet a bomb')
              return text
            })
          },
        }),
      ],
    })
    const greet = kernel.resolve(greetRef)
    expect(await greet('ada')).toBe('HELLO ADA')
    expect(await greet('mallory')).toBe('no')
    await expect(greet('boom')).rejects.toMatchObject({
      code: 'TAU_HOOK_FAILED',
      plugin: 'fails',
      hook: 'greeter.greeting',
      message: "plugin 'fails' (hook greeter.greeting): cannot greet a bomb",
    })
    expect(Object.isFrozen(view)).toBe(true)
    expect((view as Record<string, unknown>).greeting).not.toHaveProperty('call')
    expect(
      kernel
        .report()
        .find((p) => p.name === 'greeter')
        ?.hooks.map((h) => `${h.name}:${h.kind}`),
    ).toEqual(['greeter.greeting:AsyncSeriesWaterfallHook', 'greeter.veto:SyncBailHook'])
    expect(kernel.report().find((p) => p.name === 'shout')?.taps).toEqual([
      'greeter.greeting',
      'greeter.veto',
    ])
    await kernel.stop()
  })

  it('tap() with an async function on an async hook is awaited like tapPromise; on a sync hook it is refused', async () => {
    const { AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncHook, defineHooks } = await import(
      '../../kernel/index.js'
    )
    interface Hooks {
      notify: InstanceType<typeof AsyncSeriesHook<[string[]]>>
      rewrite: InstanceType<typeof AsyncSeriesWaterfallHook<[string]>>
      sync: InstanceType<typeof SyncHook<[string]>>
    }
    const ref = defineHooks<Hooks>('async-owner')
    const fireRef = defineService<() => Promise<{ seen: string[]; text: string }>>('async-owner.fire')
    // A tap that settles only after a macrotask: a dropped promise would not have pushed yet.
    const later = () => new Promise<void>((resolve) => setImmediate(resolve))
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({
          name: 'async-owner',
          setup(ctx) {
            const hooks = ctx.declareHooks(ref, {
              notify: new AsyncSeriesHook<[string[]]>(['seen']),
              rewrite: new AsyncSeriesWaterfallHook<[string]>(['text']),
              sync: new SyncHook<[string]>(['text']),
            })
            ctx.provide(fireRef, async () => {
              const seen: string[] = []
              await hooks.notify.promise(seen)
              return { seen, text: await hooks.rewrite.promise('a') }
            })
          },
        }),
        definePlugin({
          name: 'async-tapper',
          dependsOn: ['async-owner'],
          setup(ctx) {
            const hooks = ctx.hooksOf(ref)
            hooks.notify.tap(async (seen) => {
              await later()
              seen.push('first')
            })
            hooks.notify.tap((seen) => {
              seen.push('second')
            })
            hooks.rewrite.tap(async (text) => {
              await later()
              return `${text}b`
            })
          },
        }),
      ],
    })
    expect(await kernel.resolve(fireRef)()).toEqual({ seen: ['first', 'second'], text: 'ab' })
    await kernel.stop()

    await expect(
      createTestKernel({
        plugins: [
          definePlugin({
            name: 'sync-owner',
            setup(ctx) {
              ctx.declareHooks(ref, {
                notify: new AsyncSeriesHook<[string[]]>(['seen']),
                rewrite: new AsyncSeriesWaterfallHook<[string]>(['text']),
                sync: new SyncHook<[string]>(['text']),
              })
            },
          }),
          definePlugin({
            name: 'wrong-tapper',
            dependsOn: ['sync-owner'],
            setup(ctx) {
              // What a JavaScript plugin can do (the types refuse an async function here).
              const tap = ctx.hooksOf(ref).sync.tap as unknown as (fn: () => Promise<void>) => void
              tap(async () => {})
            },
          }),
        ],
      }),
    ).rejects.toMatchObject({
      plugin: 'wrong-tapper',
      message: expect.stringContaining('sync is a SyncHook, which cannot wait for an async function'),
    })
  })

  it('tapping an undeclared hook set fails setup with a hint to add the dependency', async () => {
    const { defineHooks } = await import('../../kernel/index.js')
    const ref = defineHooks<{ x: never }>('elsewhere')
    await expect(
      createTestKernel({
        plugins: [
          definePlugin({
            name: 'eager',
            setup(ctx) {
              ctx.hooksOf(ref)
            },
          }),
        ],
      }),
    ).rejects.toMatchObject({ code: 'TAU_HOOKS_NOT_DECLARED', plugin: 'eager' })
  })

  it('declaring one hook set twice is an error naming both plugins', async () => {
    const { SyncHook } = await import('tapable')
    const { defineHooks } = await import('../../kernel/index.js')
    const ref = defineHooks<{ h: InstanceType<typeof SyncHook<[number]>> }>('shared')
    const declarer = (name: string) =>
      definePlugin({
        name,
        setup(ctx) {
          ctx.declareHooks(ref, { h: new SyncHook<[number]>(['n']) })
        },
      })
    const error = await createTestKernel({ plugins: [declarer('one'), declarer('two')] }).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'TAU_HOOKS_DUPLICATE', plugin: 'two' })
    expect((error as Error).message).toContain("already declared by plugin 'one'")
  })
})
