import { describe, expect, it } from 'vitest'
import { createKernel, definePlugin, defineService } from '../../kernel/index.js'
import { createTestKernel } from '../../kernel/testing/index.js'

interface Counter {
  count: number
}

describe('services', () => {
  it('provides and resolves typed root services across plugins', async () => {
    const clockRef = defineService<{ now(): number }>('clock.source')
    let resolvedInSetup: number | undefined
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({ name: 'clock', setup: (ctx) => ctx.provide(clockRef, { now: () => 42 }) }),
        definePlugin({
          name: 'user',
          dependsOn: ['clock'],
          setup(ctx) {
            resolvedInSetup = ctx.resolve(clockRef).now()
          },
        }),
      ],
    })
    expect(resolvedInSetup).toBe(42)
    expect(kernel.resolve(clockRef).now()).toBe(42)
    expect(kernel.report().find((p) => p.name === 'clock')?.services).toEqual(['clock.source'])
    await kernel.stop()
  })

  it('refuses a second provider of a single-valued service, naming both plugins', async () => {
    const ref = defineService<string>('shared.value')
    const error = await createTestKernel({
      plugins: [
        definePlugin({ name: 'first', setup: (ctx) => ctx.provide(ref, 'a') }),
        definePlugin({ name: 'second', setup: (ctx) => ctx.provide(ref, 'b') }),
      ],
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_SERVICE_DUPLICATE', plugin: 'second' })
    expect((error as Error).message).toContain("already provided by plugin 'first'")
  })

  it('collects every value of a multiple service in setup order', async () => {
    const toolsRef = defineService<string, 'root', true>('tools.tool', { multiple: true })
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({ name: 'late', dependsOn: ['early'], setup: (ctx) => ctx.provide(toolsRef, 'Write') }),
        definePlugin({ name: 'early', setup: (ctx) => ctx.provide(toolsRef, 'Read') }),
      ],
    })
    expect(kernel.resolve(toolsRef)).toEqual(['Read', 'Write'])
    await kernel.stop()
  })

  it('resolving a service nobody provides names the service and the plugin', async () => {
    const ref = defineService<string>('nobody.home')
    await expect(
      createTestKernel({
        plugins: [
          definePlugin({
            name: 'needy',
            setup(ctx) {
              ctx.resolve(ref)
            },
          }),
        ],
      }),
    ).rejects.toMatchObject({
      code: 'TAU_SERVICE_MISSING',
      plugin: 'needy',
      message: "plugin 'needy': no plugin provides service 'nobody.home'",
    })
  })

  it('tryResolve gives undefined (or [] for multiple) when nobody provides it', async () => {
    const single = defineService<string>('maybe.one')
    const many = defineService<string, 'root', true>('maybe.many', { multiple: true })
    let seen: unknown[] = []
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({
          name: 'optional',
          setup(ctx) {
            seen = [ctx.tryResolve(single), ctx.tryResolve(many)]
          },
        }),
      ],
    })
    expect(seen).toEqual([undefined, []])
    await kernel.stop()
  })

  it('rejects malformed service ids at definition time', () => {
    expect(() => defineService('NoDot')).toThrow(/'<plugin>.<name>'/)
    expect(() => defineService('tools')).toThrow(TypeError)
  })
})

describe('sessions', () => {
  const counterRef = defineService<Counter, 'session'>('state.counter', { scope: 'session' })

  function counterPlugin(disposed: string[]) {
    return definePlugin({
      name: 'state',
      setup(ctx) {
        ctx.provide(
          counterRef,
          (session) => {
            const counter = { count: 0, session: session.id }
            return counter
          },
          (counter) => {
            disposed.push(`counter:${(counter as Counter & { session: string }).session}`)
          },
        )
      },
    })
  }

  it('gives each session its own instance, created once per session', async () => {
    const kernel = await createTestKernel({ plugins: [counterPlugin([])] })
    const one = kernel.createSession({ id: 's1' })
    const two = kernel.createSession({ id: 's2' })
    one.resolve(counterRef).count++
    one.resolve(counterRef).count++
    two.resolve(counterRef).count++
    expect(one.resolve(counterRef).count).toBe(2)
    expect(two.resolve(counterRef).count).toBe(1)
    await kernel.stop()
  })

  it('disposes session services with the session, and open sessions when the kernel stops', async () => {
    const disposed: string[] = []
    const kernel = await createTestKernel({ plugins: [counterPlugin(disposed)] })
    const one = kernel.createSession({ id: 's1' })
    const two = kernel.createSession({ id: 's2' })
    one.resolve(counterRef)
    two.resolve(counterRef)
    await one.dispose()
    await one.dispose()
    expect(disposed).toEqual(['counter:s1'])
    expect(() => one.resolve(counterRef)).toThrow(/disposed/)
    await kernel.stop()
    expect(disposed).toEqual(['counter:s1', 'counter:s2'])
  })

  it('disposes a session in reverse creation order and reports a failing disposer without skipping others', async () => {
    const order: string[] = []
    const aRef = defineService<string, 'session'>('multi.a', { scope: 'session' })
    const bRef = defineService<string, 'session'>('multi.b', { scope: 'session' })
    const kernel = await createTestKernel({
      plugins: [
        definePlugin({
          name: 'multi',
          setup(ctx) {
            ctx.provide(
              aRef,
              () => 'a',
              () => {
                order.push('a')
              },
            )
            ctx.provide(
              bRef,
              () => 'b',
              () => {
                order.push('b')
                throw new Error('b will not close')
              },
            )
          },
        }),
      ],
    })
    const session = kernel.createSession()
    session.resolve(aRef)
    session.resolve(bRef)
    await expect(session.dispose()).rejects.toMatchObject({ code: 'TAU_TEARDOWN_FAILED', plugin: 'multi' })
    expect(order).toEqual(['b', 'a'])
    await kernel.stop()
  })

  it('a session service cannot be resolved from the kernel root', async () => {
    const kernel = await createTestKernel({ plugins: [counterPlugin([])] })
    expect(() => kernel.resolve(counterRef as never)).toThrow(/per session/)
    await kernel.stop()
  })

  it('a session service must be provided as a factory', async () => {
    await expect(
      createTestKernel({
        plugins: [
          definePlugin({ name: 'wrong', setup: (ctx) => ctx.provide(counterRef, { count: 0 } as never) }),
        ],
      }),
    ).rejects.toMatchObject({ code: 'TAU_SERVICE_SCOPE', plugin: 'wrong' })
  })

  it('a session has a generated id and its own working directory', async () => {
    const kernel = createKernel({ plugins: [counterPlugin([])] })
    await kernel.start()
    const session = kernel.createSession({ cwd: '/tmp' })
    expect(session.cwd).toBe('/tmp')
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/)
    await kernel.stop()
  })
})
