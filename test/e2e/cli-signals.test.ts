/**
 * The real `tau` binary and signals: SIGTERM and SIGINT while a frontend runs or a start tap
 * waits or hangs, the exit codes (128 + signal), teardown, and what is reported. Config and
 * plugins are .mjs: their form is not the subject, and TypeScript costs each run a transpile.
 */
import { describe, expect, it } from 'vitest'
import { markerPlugin, STACK_LINE, useProjects, waitForFile } from './run-tau.js'

const project = useProjects()

/** A frontend that runs until the CLI aborts it (SIGINT/SIGTERM), then returns 0. */
const waitingFrontend = (holdsHandle: boolean) =>
  markerPlugin('frontend', {
    body: `ctx.hooks.ready.tap(() => marker('ready'))
    ctx.provide(frontendRef, {
      run: ({ signal }) =>
        new Promise((resolve) => {
          ${holdsHandle ? 'const timer = setInterval(() => {}, 60_000)' : ''}
          signal.addEventListener('abort', () => {
            ${holdsHandle ? 'clearInterval(timer)' : ''}
            resolve(0)
          })
        }),
    })`,
  })

describe.concurrent('tau start and signals', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s while a frontend runs: exit %i, the kernel is stopped', async (signal, code) => {
    const p = await project({
      'frontend.mjs': waitingFrontend(true),
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./frontend.mjs'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill(signal)
    const result = await proc.result
    expect(result.timedOut).toBe(false)
    expect(result.code, proc.output()).toBe(code)
    expect(p.exists('frontend.torndown'), 'teardown ran').toBe(true)
    expect(result.stderr).not.toMatch(STACK_LINE)
  })

  it('a teardown failing after SIGTERM is reported once, with secrets masked', async () => {
    const secret = 'sk-env-teardown-0123456789'
    const p = await project({
      'frontend.mjs': waitingFrontend(true),
      'leaky.mjs': markerPlugin('leaky', {
        teardown: "throw new Error('cannot close session ' + process.env.OPENAI_API_KEY)",
      }),
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./leaky.mjs', './frontend.mjs'] }\n",
    })
    const proc = p.spawn(['start'], { env: { OPENAI_API_KEY: secret } })
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(result.code, proc.output()).not.toBe(0)
    expect(p.exists('frontend.torndown'), 'the other teardown ran').toBe(true)
    expect(result.stderr).toContain("plugin 'leaky': teardown failed: cannot close session ***")
    expect(result.stderr, 'the secret is masked').not.toContain(secret)
    expect(result.stderr.split('error TAU_TEARDOWN_FAILED').length - 1, 'reported once').toBe(1)
  })

  it('SIGTERM while a frontend waits only on its abort signal: exit 143, the kernel is stopped', async () => {
    // The frontend holds no timer or socket of its own; `tau start` must still wait for it.
    const p = await project({
      'frontend.mjs': waitingFrontend(false),
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./frontend.mjs'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(result.code, proc.output()).toBe(143)
    expect(p.exists('frontend.torndown'), 'teardown ran').toBe(true)
  })

  it('SIGTERM while a start tap waits on its signal: exit 143, teardown ran, no error reported', async () => {
    // A well-behaved slow start: it listens to the lifecycle signal, which stopping aborts.
    const p = await project({
      'slow.mjs': markerPlugin('slow', {
        body: `let timer
    ctx.hooks.start.tapPromise(async ({ signal }) => {
      timer = setInterval(() => {}, 60_000)
      marker('ready')
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    })`,
        teardown: 'clearInterval(timer)',
      }),
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./slow.mjs'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(p.exists('slow.torndown'), 'teardown ran').toBe(true)
    expect(result.code, proc.output()).toBe(143)
    expect(result.stderr).not.toContain('TAU_START_FAILED')
  })

  it('SIGTERM while a start tap hangs for good: exit 143, teardown ran', async () => {
    // A start tap that ignores the signal and never settles; its teardown releases its handle.
    const p = await project({
      'hang.mjs': markerPlugin('hang', {
        body: `let timer
    ctx.hooks.start.tapPromise(async () => {
      timer = setInterval(() => {}, 60_000)
      marker('ready')
      await new Promise(() => {})
    })`,
        teardown: 'clearInterval(timer)',
      }),
      'tau.config.mjs': "export default { preset: 'minimal', plugins: ['./hang.mjs'] }\n",
    })
    const proc = p.spawn(['start'])
    await waitForFile(p.path('ready'), proc)
    proc.child.kill('SIGTERM')
    const result = await proc.result
    expect(p.exists('hang.torndown'), 'teardown ran').toBe(true)
    expect(result.timedOut, 'tau exits after the signal').toBe(false)
    expect(result.code, proc.output()).toBe(143)
  })
})
