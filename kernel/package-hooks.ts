/**
 * `import ... from 'tau-agent'` in a module Node loads itself (kernel/module-loader.ts): a
 * resolve hook maps each package id given to a small `data:` module that re-exports the running
 * tau's module for it, which it reads from a process-wide registry. So a natively imported plugin
 * gets the very instances jiti's virtual modules hold (one `TauError`, one `definePlugin`), and
 * an id not given (or another package) resolves as Node would.
 *
 * Only imports from the loaded graph's own files are mapped, as jiti maps only in the modules it
 * loads: the rest of the process (the program embedding tau, a package the plugin imports, and on
 * Node 22+ a worker thread, which inherits the hooks but not the registry) resolves `tau-agent`
 * and `tau` (an unrelated npm package) as Node would.
 *
 * The hook runs in Node's hooks thread (`module.register`, stable from Node 20 to 24; its start
 * costs ~50 ms of CPU, once, and only a run with such a module pays it); the map is handed over
 * as data. (Node 22.15+'s in-thread `module.registerHooks` would save that start; it is still
 * experimental there.)
 */
import { realpathSync } from 'node:fs'
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { PackageModules } from './module-loader.js'

const REGISTRY = Symbol.for('tau.packageModules')
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** The ids already mapped, by the file URL of the module importing them. */
const mapped = new Map<string, Set<string>>()

/**
 * The hooks module for Node's hooks thread: the map and the importing files arrive in
 * `initialize` (one registration a graph; a later one is asked first and falls through to this).
 */
const HOOKS = `let map = {}
let parents = new Set()
export function initialize(data) { map = data.map; parents = new Set(data.parents) }
export async function resolve(specifier, context, next) {
  return Object.hasOwn(map, specifier) && parents.has(context.parentURL)
    ? { url: map[specifier], shortCircuit: true }
    : next(specifier, context)
}
`

/** A file's URL as Node's loader names it (symbolic links resolved, as Node resolves them). */
function moduleUrl(file: string): string {
  try {
    return pathToFileURL(realpathSync(file)).href
  } catch {
    return pathToFileURL(file).href
  }
}

/** A module re-exporting `module` (the registry's entry for `id`) by name, and as its default. */
function reexport(id: string, module: object): string {
  const names = Object.keys(module).filter((name) => name !== 'default' && IDENTIFIER.test(name))
  const source = `const m = globalThis[Symbol.for('tau.packageModules')][${JSON.stringify(id)}]
export const { ${names.join(', ')} } = m
export default ${'default' in module ? 'm.default' : 'm'}
`
  return `data:text/javascript,${encodeURIComponent(source)}`
}

/**
 * Makes the given package modules what a native `import` of their ids gets in the given files
 * (a graph's own, kernel/module-graph.ts).
 */
export function mapPackageModules(modules: PackageModules, files: readonly string[]): void {
  const global = globalThis as unknown as Record<symbol, Record<string, object> | undefined>
  const registry = global[REGISTRY] ?? {}
  global[REGISTRY] = registry
  const map: Record<string, string> = {}
  const parents = new Set<string>()
  for (const file of files.map(moduleUrl)) {
    const ids = mapped.get(file) ?? new Set<string>()
    mapped.set(file, ids)
    for (const [id, module] of Object.entries(modules)) {
      if (ids.has(id)) continue
      // The first module given for an id stays (a module imported before holds it).
      registry[id] ??= module
      map[id] = reexport(id, registry[id])
      parents.add(file)
      ids.add(id)
    }
  }
  if (parents.size === 0) return
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { map, parents: [...parents] } })
}
