/**
 * Hooks: tapable underneath, declared once per owner, frozen, typed, with one context-object
 * argument. Plugins never get the hook objects themselves, only a tap-only view whose taps are
 * named after the plugin, so every tap, log line and error says whose it was.
 */
import { AsyncSeriesHook, AsyncSeriesWaterfallHook } from 'tapable'
import { stampError, TauError } from './errors.js'

/** Named ordering stages: a tap with a lower stage runs first. Use these, not magic numbers. */
export const STAGE = Object.freeze({
  /** Security and policy checks that may block (permission guards). */
  GUARD: -200,
  /** Rewrites of the input before the main work (normalisation, redaction). */
  PREPARE: -100,
  /** The default. */
  DEFAULT: 0,
  /** Observers that only record (audit logs, telemetry). They see the final value. */
  AUDIT: 100,
})

export interface TapOptions {
  /** Ordering stage; see STAGE. */
  stage?: number
  /** Run before the taps of this plugin. */
  before?: string
}

/** The structural shape of a tapable hook with one argument. */
interface AnyHook {
  tap(
    options: string | { name: string; stage?: number; before?: string },
    fn: (...args: never[]) => unknown,
  ): void
  intercept(interceptor: object): void
  readonly taps: ReadonlyArray<{ name: string; stage?: number }>
}

type HookArg<H> = H extends { promise(...args: infer A): Promise<unknown> }
  ? A extends [infer First, ...unknown[]]
    ? First
    : never
  : never
type HookResult<H> = H extends { promise(...args: never[]): Promise<infer R> } ? R : never

/**
 * What a plugin may do with a hook it did not declare: tap it, nothing else. A tap may return
 * undefined to pass: a bail hook goes on to the next tap, a waterfall keeps the current value.
 */
export interface TapOnlyHook<A, R, Async extends boolean = false> {
  /** The tapable class of the hook, e.g. 'AsyncSeriesBailHook'. */
  readonly kind: string
  /** On an async hook, an `async` function is awaited (tapped as tapPromise). */
  tap(fn: (arg: A) => TapReturn<R, Async>): void
  tap(options: TapOptions, fn: (arg: A) => TapReturn<R, Async>): void
  tapPromise(fn: (arg: A) => Promise<R | undefined | void>): void
  tapPromise(options: TapOptions, fn: (arg: A) => Promise<R | undefined | void>): void
}

type TapReturn<R, Async extends boolean> = Async extends true
  ? R | undefined | void | Promise<R | undefined | void>
  : R | undefined | void

/** Sync hooks have `call()`; tapable's async classes have only callAsync() and promise(). */
type IsAsync<H> = H extends { call(...args: never[]): unknown } ? false : true

export type TapView<H> = {
  readonly [K in keyof H]: TapOnlyHook<HookArg<H[K]>, HookResult<H[K]>, IsAsync<H[K]>>
}

const HOOKS_REF = Symbol.for('tau.hooksRef')

/** A typed handle to a set of hooks that one plugin declares and others tap. */
export interface HooksRef<H> {
  readonly id: string
  readonly __hooks?: H
}

export function defineHooks<H extends object>(id: string): HooksRef<H> {
  return Object.freeze({ id, [HOOKS_REF]: true })
}

export interface HookInfo {
  /** `<owner>.<hook>`, e.g. `kernel.start` or `agent.preToolUse`. */
  readonly name: string
  readonly kind: string
  readonly owner: string
  readonly taps: readonly string[]
}

const TAPABLE_KINDS = new Set([
  'SyncHook',
  'SyncBailHook',
  'SyncWaterfallHook',
  'SyncLoopHook',
  'AsyncParallelHook',
  'AsyncParallelBailHook',
  'AsyncSeriesHook',
  'AsyncSeriesBailHook',
  'AsyncSeriesLoopHook',
  'AsyncSeriesWaterfallHook',
])

/**
 * The hook's tapable kind by name. A bundler renames classes whose names collide
 * (`AsyncSeriesHook3` in dist/bin/tau.js), so a known kind with a number after it is that kind.
 */
export function kindOf(hook: object): string {
  const name = hook.constructor?.name ?? 'Hook'
  const unnumbered = name.replace(/\d+$/, '')
  return TAPABLE_KINDS.has(unnumbered) ? unnumbered : name
}

function isAsyncFunction(fn: (...args: never) => unknown): boolean {
  return (fn as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'AsyncFunction'
}

/**
 * Installs the interceptor that stamps every tap's error with its plugin and hook. Applied to
 * taps registered before and after, so no tap escapes it.
 */
function stampTaps(hook: AnyHook, hookName: string): void {
  hook.intercept({
    register(tap: { name: string; type: 'sync' | 'async' | 'promise'; fn: (...args: unknown[]) => unknown }) {
      const plugin = tap.name
      const fn = tap.fn
      if (tap.type === 'promise') {
        return {
          ...tap,
          fn: (...args: unknown[]) =>
            Promise.resolve()
              .then(() => fn(...args))
              .catch((error: unknown) => {
                throw stampError(error, 'TAU_HOOK_FAILED', plugin, hookName)
              }),
        }
      }
      if (tap.type === 'async') {
        return {
          ...tap,
          fn: (...args: unknown[]) => {
            const callback = args[args.length - 1] as (error?: unknown, result?: unknown) => void
            const wrapped = (error?: unknown, result?: unknown) =>
              error
                ? callback(stampError(error, 'TAU_HOOK_FAILED', plugin, hookName))
                : callback(null, result)
            try {
              return fn(...args.slice(0, -1), wrapped)
            } catch (error) {
              callback(stampError(error, 'TAU_HOOK_FAILED', plugin, hookName))
            }
          },
        }
      }
      return {
        ...tap,
        fn: (...args: unknown[]) => {
          try {
            return fn(...args)
          } catch (error) {
            throw stampError(error, 'TAU_HOOK_FAILED', plugin, hookName)
          }
        },
      }
    },
  })
}

/** Every declared hook set, by owner. Lives on a kernel: tapable has no untap, so never global. */
export class HookTable {
  private readonly sets = new Map<string, { owner: string; hooks: Record<string, AnyHook> }>()

  declare<H extends object>(owner: string, ref: HooksRef<H>, hooks: H): H {
    const existing = this.sets.get(ref.id)
    if (existing) {
      throw new TauError(
        'TAU_HOOKS_DUPLICATE',
        `hook set '${ref.id}' is already declared by plugin '${existing.owner}'`,
        { plugin: owner },
      )
    }
    const record = hooks as Record<string, AnyHook>
    for (const [name, hook] of Object.entries(record)) {
      if (typeof hook?.tap !== 'function' || typeof hook.intercept !== 'function') {
        throw new TypeError(`hook '${ref.id}.${name}' is not a tapable hook`)
      }
      stampTaps(hook, `${ref.id}.${name}`)
    }
    const frozen = Object.freeze(hooks)
    this.sets.set(ref.id, { owner, hooks: record })
    return frozen
  }

  /** The tap-only view of a declared hook set for one plugin. */
  view<H extends object>(
    ref: HooksRef<H>,
    plugin: string,
    order?: (hookName: string) => number | undefined,
  ): TapView<H> {
    const set = this.sets.get(ref.id)
    if (!set) {
      throw new TauError('TAU_HOOKS_NOT_DECLARED', `hook set '${ref.id}' is not declared`, { plugin })
    }
    return tapView(set.hooks, plugin, order) as TapView<H>
  }

  has(id: string): boolean {
    return this.sets.has(id)
  }

  list(): HookInfo[] {
    const out: HookInfo[] = []
    for (const [id, set] of this.sets) {
      for (const [name, hook] of Object.entries(set.hooks)) {
        out.push({
          name: `${id}.${name}`,
          kind: kindOf(hook),
          owner: set.owner,
          taps: hook.taps.map((tap) => tap.name),
        })
      }
    }
    return out
  }
}

/**
 * The tap-only view. Tap names are always the plugin's name. `order`, where given, fixes the
 * stage of a hook's taps (the kernel uses it to run `stop` taps in reverse setup order).
 */
function tapView(
  hooks: Record<string, AnyHook>,
  plugin: string,
  order?: (hookName: string) => number | undefined,
): Record<string, TapOnlyHook<unknown, unknown>> {
  const view: Record<string, TapOnlyHook<unknown, unknown>> = {}
  for (const [name, hook] of Object.entries(hooks)) {
    const kind = kindOf(hook)
    const register = (requested: 'tap' | 'tapPromise', a: unknown, b?: unknown) => {
      const [options, fn] = typeof a === 'function' ? [{}, a] : [(a ?? {}) as TapOptions, b]
      if (typeof fn !== 'function') throw new TypeError(`${plugin}: ${name}.${requested}() needs a function`)
      // tapable runs a tap() function synchronously: an async one's promise would be dropped (a
      // notify hook goes on before it settles, a waterfall passes the promise on as the value).
      // On an async hook an async function is therefore tapped as tapPromise; on a sync hook it
      // cannot be waited for, which is a mistake worth stopping at once.
      let method = requested
      if (requested === 'tap' && isAsyncFunction(fn as (...args: never) => unknown)) {
        if (!kind.startsWith('Async')) {
          throw new TypeError(
            `${plugin}: ${name} is a ${kind}, which cannot wait for an async function: tap it with a plain function`,
          )
        }
        method = 'tapPromise'
      }
      const forced = order?.(name)
      const tap: { name: string; stage?: number; before?: string } = { name: plugin }
      const stage = forced ?? options.stage
      if (stage !== undefined) tap.stage = stage
      if (options.before !== undefined) tap.before = options.before
      const target = hook as unknown as Record<string, (tap: object, fn: unknown) => void>
      const method$ = target[method]
      if (typeof method$ !== 'function') throw new TypeError(`${plugin}: hook '${name}' has no ${method}()`)
      method$.call(hook, tap, fn)
    }
    view[name] = Object.freeze({
      kind,
      tap: (a: unknown, b?: unknown) => register('tap', a, b),
      tapPromise: (a: unknown, b?: unknown) => register('tapPromise', a, b),
    }) as TapOnlyHook<unknown, unknown>
  }
  return Object.freeze(view)
}

// ---------------------------------------------------------------------------------------------
// The kernel's own lifecycle hooks.

/** Passed to `start` and `ready` taps. */
export interface LifecycleContext {
  /** Plugin names in setup order. */
  readonly plugins: readonly string[]
  /** Aborted when the kernel stops; long-running start work should listen to it. */
  readonly signal: AbortSignal
}

export interface StopContext {
  readonly plugins: readonly string[]
  /** Why the kernel is stopping: a normal stop, a failed start, or a signal. */
  readonly reason: 'stop' | 'start-failed' | 'signal'
}

/** Config as it stands after presets and user config are merged, before validation. */
export type RawConfig = Record<string, unknown>

export function createKernelHooks() {
  return {
    /** Waterfall over the merged config, before validation; taps come from plugins' configure(). */
    configure: new AsyncSeriesWaterfallHook<[RawConfig]>(['config']),
    /** After every setup, in setup order: connect, listen, spawn. */
    start: new AsyncSeriesHook<[LifecycleContext]>(['context']),
    /** After every start tap: the kernel is up. */
    ready: new AsyncSeriesHook<[LifecycleContext]>(['context']),
    /** At stop, before teardowns, in reverse setup order. Always runs, also after a failed start. */
    stop: new AsyncSeriesHook<[StopContext]>(['context']),
  }
}

export type KernelHooks = ReturnType<typeof createKernelHooks>
export const kernelHooksRef = defineHooks<KernelHooks>('kernel')
