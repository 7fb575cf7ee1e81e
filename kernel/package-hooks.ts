/**
 * `import ... from 'tau-agent'` in a module Node loads itself (kernel/module-loader.ts): a
 * resolve hook maps each package id given to a small `data:` module that re-exports the running
 * tau's module for it, which it reads from a process-wide registry. So a natively imported plugin
 * gets the very instances jiti's virtual modules hold (one `TauError`, one `definePlugin`), and
 * an id not given (or another package) resolves as Node would.
 *
 * The hook runs in Node's hooks thread (`module.register`, stable from Node 20 to 24; its start
 * costs ~50 ms of CPU, once, and only a run with such a module pays it); the map is handed over
 * as data. (Node 22.15+'s in-thread `module.registerHooks` would save that start; it is still
 * experimental there.)
 */
import { register } from 'node:module'
import type { PackageModules } from './module-loader.js'

const REGISTRY = Symbol.for('tau.packageModules')
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** The ids already mapped (a later call maps only new ones). */
const mapped = new Set<string>()

/** The hooks module for Node 20's hooks thread: the map arrives in `initialize`. */
const HOOKS = `let map = {}
export function initialize(data) { map = data.map }
export async function resolve(specifier, context, next) {
  return Object.hasOwn(map, specifier) ? { url: map[specifier], shortCircuit: true } : next(specifier, context)
}
`

/** A module re-exporting `module` (the registry's entry for `id`) by name, and as its default. */
function reexport(id: string, module: object): string {
  const names = Object.keys(module).filter((name) => name !== 'default' && IDENTIFIER.test(name))
  const source = `const m = globalThis[Symbol.for('tau.packageModules')][${JSON.stringify(id)}]
export const { ${names.join(', ')} } = m
export default ${'default' in module ? 'm.default' : 'm'}
`
  return `data:text/javascript,${encodeURIComponent(source)}`
}

/** Makes the given package modules what a native `import` of their ids gets. */
export function mapPackageModules(modules: PackageModules): void {
  const global = globalThis as unknown as Record<symbol, Record<string, object> | undefined>
  const registry = global[REGISTRY] ?? {}
  global[REGISTRY] = registry
  const map: Record<string, string> = {}
  for (const [id, module] of Object.entries(modules)) {
    if (mapped.has(id)) continue
    registry[id] = module
    map[id] = reexport(id, module)
    mapped.add(id)
  }
  if (Object.keys(map).length === 0) return
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { map } })
}
