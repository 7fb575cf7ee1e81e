/**
 * The sessions of a running kernel: each a scope of session services, with its own settings
 * (merged over the global config and checked by each plugin's schema, synchronously) and a
 * dispose that runs its services' disposers in reverse. Kernel.createSession() (lifecycle.ts)
 * opens them; the kernel's stop disposes those still open.
 */
import { randomUUID } from 'node:crypto'
import { resolve as resolvePath } from 'node:path'
import { type ClaimNode, claimedChildren, getPath, isPlainObject, omitKeys } from './config.js'
import { isTauError, messageOf, TauError } from './errors.js'
import type { RawConfig } from './hooks.js'
import { configKeyOf, type TauPlugin } from './plugin.js'
import { type ConfigProblem, resultOf } from './schema.js'
import type { Resolved, ServiceRef, ServiceRegistry, SessionInfo, SessionScopeState } from './services.js'

/** What createSession() takes. */
export interface SessionOptions {
  id?: string
  cwd?: string
  /**
   * This session's own settings, keyed by plugin config key (`{ sandbox: { mode: 'bwrap' } }`):
   * each is merged over the global config and validated by that plugin's schema.
   */
  settings?: Readonly<Record<string, unknown>>
}

export interface Session {
  readonly id: string
  readonly cwd: string
  /** The validated settings this session was created with, by config key ({} when none). */
  readonly overrides: Readonly<Record<string, unknown>>
  /** A plugin's config slice for this session (see SessionInfo.settings). */
  settings(configKey: string): unknown
  resolve<R extends ServiceRef<unknown>>(ref: R): Resolved<R>
  tryResolve<R extends ServiceRef<unknown>>(ref: R): Resolved<R> | undefined
  /** Disposes this session's services in reverse creation order. Idempotent. */
  dispose(): Promise<void>
}

/** What a session is opened in: the running kernel's services, plugins and config. */
export interface SessionHost {
  readonly services: ServiceRegistry
  /** The open sessions: each is in it until it is disposed. */
  readonly sessions: Set<Session>
  readonly cwd: string
  /** The plugins in setup order. */
  readonly plugins: readonly TauPlugin[]
  /** The config with its defaults, and as written (before defaults). */
  readonly resolvedConfig: RawConfig
  readonly configuredConfig: RawConfig
  readonly claims: ClaimNode | undefined
}

/** A new session scope: session services are created in it on first resolve and disposed with it. */
export function openSession(host: SessionHost, options: SessionOptions = {}): Session {
  const id = options.id ?? randomUUID()
  const overrides =
    options.settings === undefined ? NO_OVERRIDES : sessionSettings(host, id, options.settings)
  const resolved = host.resolvedConfig
  const info: SessionInfo = Object.freeze({
    id,
    cwd: resolvePath(options.cwd ?? host.cwd),
    overrides,
    settings: (configKey: string) =>
      Object.hasOwn(overrides, configKey) ? overrides[configKey] : getPath(resolved, configKey),
  })
  const { container, state } = host.services.createSessionScope(info)
  const services = host.services
  const sessions = host.sessions
  let disposing: Promise<void> | undefined
  const session: Session = {
    id: info.id,
    cwd: info.cwd,
    overrides: info.overrides,
    settings: info.settings,
    resolve: (ref) => {
      if (disposing) throw new TauError('TAU_KERNEL_STATE', `session ${info.id} is disposed`)
      return services.resolveIn(container, ref)
    },
    tryResolve: (ref) =>
      services.has(ref) ? session.resolve(ref) : ref.multiple ? ([] as never) : undefined,
    dispose: () => {
      disposing ??= disposeSession(state).finally(() => sessions.delete(session))
      return disposing
    },
  }
  sessions.add(session)
  return session
}

/**
 * Validates a session's settings: each key must be a loaded plugin's config key; its value is
 * merged over the global slice (as written, before defaults) and checked by that plugin's
 * schema, synchronously, so createSession() stays synchronous. All problems in one error.
 */
function sessionSettings(
  host: SessionHost,
  id: string,
  settings: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  const problems: ConfigProblem[] = []
  const out: Record<string, unknown> = {}
  if (!isPlainObject(settings)) {
    problems.push({ path: 'settings', message: 'expected an object keyed by plugin config key' })
  } else {
    for (const [key, override] of Object.entries(settings)) {
      if (override === undefined) continue
      const path = `settings.${key}`
      const plugin = host.plugins.find((p) => configKeyOf(p) === key)
      if (!plugin?.config) {
        problems.push({
          path,
          message: plugin
            ? `plugin '${plugin.name}' has no config to set per session`
            : `no loaded plugin reads the config key '${key}'`,
          ...(plugin ? { plugin: plugin.name } : {}),
        })
        continue
      }
      const children = host.claims ? claimedChildren(host.claims, key) : []
      const merged = mergeOver(omitKeys(getPath(host.configuredConfig, key), children), override)
      const raw = plugin.config['~standard'].validate(merged)
      if (raw instanceof Promise) {
        problems.push({
          path,
          message: 'its schema validates asynchronously; session settings need a synchronous one',
          plugin: plugin.name,
        })
        continue
      }
      const result = resultOf(raw, merged, path, plugin.name)
      if (!result.ok) {
        problems.push(...result.problems)
        continue
      }
      const current = getPath(host.resolvedConfig, key)
      const kept = isPlainObject(current)
        ? Object.fromEntries(children.filter((c) => c in current).map((c) => [c, current[c]]))
        : {}
      // Frozen at the top only: values below may be shared with the global config.
      out[key] = isPlainObject(result.value) ? Object.freeze({ ...result.value, ...kept }) : result.value
    }
  }
  if (problems.length === 0) return Object.freeze(out)
  const lines = problems.map((p) => `${p.path}: ${p.message}${p.plugin ? ` (plugin '${p.plugin}')` : ''}`)
  const plugins = [...new Set(problems.map((p) => p.plugin).filter((p): p is string => p !== undefined))]
  throw new TauError(
    'TAU_SESSION_SETTINGS_INVALID',
    problems.length === 1
      ? `session ${id}: invalid settings: ${lines[0]}`
      : `session ${id}: invalid settings: ${problems.length} problems`,
    {
      ...(plugins.length === 1 ? { plugin: plugins[0] } : {}),
      details: problems.length === 1 ? [] : lines,
    },
  )
}

async function disposeSession(state: SessionScopeState): Promise<void> {
  const errors: TauError[] = []
  for (const created of [...state.created].reverse()) {
    try {
      await created.dispose(created.value)
    } catch (error) {
      errors.push(asTeardownError(error, created.plugin, undefined, `session service '${created.id}'`))
    }
  }
  state.created.length = 0
  if (errors.length > 0) {
    throw new TauError('TAU_TEARDOWN_FAILED', errors.map((e) => e.message).join('; '), {
      plugin: errors[0]!.plugin,
    })
  }
}

/** A teardown's failure, stamped with its plugin (and hook): the kernel's stop uses it too. */
export function asTeardownError(error: unknown, plugin: string, hook?: string, what = 'teardown'): TauError {
  const where = hook === undefined ? `plugin '${plugin}'` : `plugin '${plugin}' (hook ${hook})`
  const inner = isTauError(error) && error.cause !== undefined ? error.cause : error
  return new TauError('TAU_TEARDOWN_FAILED', `${where}: ${what} failed: ${messageOf(inner)}`, {
    plugin,
    ...(hook !== undefined ? { hook } : {}),
    cause: inner,
  })
}

const NO_OVERRIDES: Readonly<Record<string, unknown>> = Object.freeze({})

/** `override` deep-merged over `base`: plain objects merge key by key, anything else replaces. */
function mergeOver(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(override)) {
    if (value !== undefined) out[key] = mergeOver(base[key], value)
  }
  return out
}
