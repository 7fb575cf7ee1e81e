/**
 * Typed service refs over an awilix container.
 *
 * A ref is a name and a type: `defineService<ToolRegistry>('tools.registry')`. Plugins provide
 * and resolve through refs, never through raw container names, so `ctx.resolve(ref)` is typed
 * and two plugins cannot silently claim one name.
 *
 * Scopes: `root` services live as long as the kernel; `session` services are created once per
 * session (an awilix scope) and disposed with it, so two sessions never share state.
 */
// The browser build is awilix's full container without loadModules(), which we never use; the
// Node build imports fast-glob eagerly and would add ~25 ms to every start.
import { type AwilixContainer, asFunction, asValue, createContainer, InjectionMode } from 'awilix/browser'
import { TauError } from './errors.js'

export type ServiceScope = 'root' | 'session'

const SERVICE_REF = Symbol.for('tau.serviceRef')

export interface ServiceRef<T, S extends ServiceScope = ServiceScope, M extends boolean = boolean> {
  readonly id: string
  readonly scope: S
  readonly multiple: M
  readonly description: string | undefined
  /** Phantom field carrying the service type; never set at runtime. */
  readonly __type?: T
}

export interface ServiceRefOptions<S extends ServiceScope, M extends boolean> {
  /** `root` (default) lives with the kernel; `session` is created per session. */
  scope?: S
  /** Many plugins may provide it; resolving returns every value in setup order. */
  multiple?: M
  description?: string
}

const SERVICE_ID = /^[a-z][a-z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+$/

/** Declares a service: `<plugin>.<name>`, its type, scope and whether many may provide it. */
export function defineService<T, S extends ServiceScope = 'root', M extends boolean = false>(
  id: string,
  options: ServiceRefOptions<S, M> = {},
): ServiceRef<T, S, M> {
  if (!SERVICE_ID.test(id)) {
    throw new TypeError(
      `defineService('${id}'): a service id is '<plugin>.<name>' in lowercase kebab-case, e.g. 'tools.registry'`,
    )
  }
  return Object.freeze({
    id,
    scope: (options.scope ?? 'root') as S,
    multiple: (options.multiple ?? false) as M,
    description: options.description,
    [SERVICE_REF]: true,
  })
}

export function isServiceRef(value: unknown): value is ServiceRef<unknown> {
  return typeof value === 'object' && value !== null && SERVICE_REF in value
}

/** What resolving a ref gives: one value, or every provided value for a multiple ref. */
export type Resolved<R> =
  R extends ServiceRef<infer T, ServiceScope, infer M> ? (M extends true ? T[] : T) : never

/** A session as seen by session-scoped service factories. */
export interface SessionInfo {
  readonly id: string
  readonly cwd: string
  /** The session's own settings, keyed by plugin config key, validated and frozen ({} when none). */
  readonly overrides: Readonly<Record<string, unknown>>
  /**
   * A plugin's config slice for this session: its override merged over the global config and
   * validated by the plugin's schema, else the global slice (ctx.config) as it is.
   */
  settings(configKey: string): unknown
}

export type SessionFactory<T> = (session: SessionInfo) => T
export type Disposer<T> = (value: T) => void | Promise<void>

interface Provision {
  readonly plugin: string
  readonly ref: ServiceRef<unknown>
}

interface SessionProvision {
  readonly plugin: string
  readonly factory: SessionFactory<unknown>
  readonly dispose: Disposer<unknown> | undefined
}

/** Per-session bookkeeping the registry keeps so disposal runs in reverse creation order. */
export interface SessionScopeState {
  readonly info: SessionInfo
  readonly created: Array<{ plugin: string; id: string; value: unknown; dispose: Disposer<unknown> }>
}

const SESSION_KEY = 'kernel.sessionScopeState'

/** The kernel's service table. Not part of the plugin surface: plugins see ctx.provide/resolve. */
export class ServiceRegistry {
  readonly container: AwilixContainer
  private readonly provided = new Map<string, Provision[]>()
  private readonly multiValues = new Map<string, unknown[]>()

  constructor() {
    // Strict mode makes awilix refuse a root service that depends on a session one.
    this.container = createContainer({ injectionMode: InjectionMode.PROXY, strict: true })
  }

  provide<T>(plugin: string, ref: ServiceRef<T, 'root'>, value: T): void {
    this.record(plugin, ref)
    if (ref.multiple) {
      let values = this.multiValues.get(ref.id)
      if (!values) {
        values = []
        this.multiValues.set(ref.id, values)
        const list = values
        this.container.register(ref.id, asFunction(() => list.slice()).transient())
      }
      values.push(value)
      return
    }
    this.container.register(ref.id, asValue(value))
  }

  provideSession<T>(
    plugin: string,
    ref: ServiceRef<T, 'session'>,
    factory: SessionFactory<T>,
    dispose?: Disposer<T>,
  ): void {
    if (ref.multiple) {
      throw new TauError('TAU_SERVICE_SCOPE', `service '${ref.id}': session services cannot be multiple`, {
        plugin,
      })
    }
    this.record(plugin, ref)
    const provision: SessionProvision = {
      plugin,
      factory: factory as SessionFactory<unknown>,
      dispose: dispose as Disposer<unknown> | undefined,
    }
    this.container.register(
      ref.id,
      asFunction((cradle: Record<string, unknown>) => {
        const state = cradle[SESSION_KEY] as SessionScopeState
        const value = provision.factory(state.info)
        const disposer = provision.dispose
        if (disposer) state.created.push({ plugin, id: ref.id, value, dispose: disposer })
        return value
      }).scoped(),
    )
  }

  private record(plugin: string, ref: ServiceRef<unknown>): void {
    const existing = this.provided.get(ref.id)
    if (existing && !ref.multiple) {
      throw new TauError(
        'TAU_SERVICE_DUPLICATE',
        `service '${ref.id}' is already provided by plugin '${existing[0]?.plugin}'`,
        { plugin },
      )
    }
    if (existing) existing.push({ plugin, ref })
    else this.provided.set(ref.id, [{ plugin, ref }])
  }

  has(ref: ServiceRef<unknown>): boolean {
    return this.provided.has(ref.id)
  }

  providersOf(id: string): string[] {
    return (this.provided.get(id) ?? []).map((p) => p.plugin)
  }

  /** Service ids each plugin provided, for `tau plugins`. */
  byPlugin(): Map<string, string[]> {
    const out = new Map<string, string[]>()
    for (const [id, provisions] of this.provided) {
      for (const { plugin } of provisions) {
        const list = out.get(plugin) ?? []
        if (!list.includes(id)) list.push(id)
        out.set(plugin, list)
      }
    }
    return out
  }

  resolveRoot<R extends ServiceRef<unknown>>(ref: R): Resolved<R> {
    if (ref.scope === 'session') {
      throw new TauError(
        'TAU_SERVICE_SCOPE',
        `service '${ref.id}' is per session: resolve it from a session (kernel.createSession().resolve(ref))`,
      )
    }
    return this.resolveIn(this.container, ref)
  }

  tryResolveRoot<R extends ServiceRef<unknown>>(ref: R): Resolved<R> | undefined {
    if (!this.has(ref)) return ref.multiple ? ([] as Resolved<R>) : undefined
    return this.resolveRoot(ref)
  }

  resolveIn<R extends ServiceRef<unknown>>(container: AwilixContainer, ref: R): Resolved<R> {
    if (!this.has(ref)) {
      if (ref.multiple) return [] as Resolved<R>
      throw new TauError('TAU_SERVICE_MISSING', `no plugin provides service '${ref.id}'`)
    }
    return container.resolve(ref.id) as Resolved<R>
  }

  createSessionScope(info: SessionInfo): { container: AwilixContainer; state: SessionScopeState } {
    const container = this.container.createScope()
    const state: SessionScopeState = { info, created: [] }
    container.register(SESSION_KEY, asValue(state))
    return { container, state }
  }
}
