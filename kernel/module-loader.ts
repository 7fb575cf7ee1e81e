/**
 * Loads config files and plugin modules, TypeScript included, whether tau runs compiled or from
 * source. A JavaScript module that Node can load itself is imported natively (kernel/
 * module-graph.ts decides: ES modules that import no TypeScript; the tau package ids they name are
 * mapped to the running tau by kernel/package-hooks.ts); the rest goes through jiti, which transpiles TypeScript (and the local .ts files a config imports),
 * caches the result on disk and maps `tau-agent` to the running tau. jiti is imported only when
 * such a module is loaded, since its import alone costs ~30 ms, and of the running tau only the
 * package ids the module's files name are loaded.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Jiti } from 'jiti'
import { readModuleGraph } from './module-graph.js'
import { mapPackageModules } from './package-hooks.js'

/**
 * The one jiti of the process, the cache directory it writes to (it makes it at creation), and
 * the virtual modules it was given: one object, which jiti reads at each import, filled with the
 * package ids as modules need them.
 */
let jitiInstance:
  | { readonly dir: string; readonly jiti: Promise<Jiti>; readonly modules: Record<string, object> }
  | undefined

/** Module ids a config or plugin module may import, mapped to the running modules. */
export type PackageModules = Readonly<Record<string, object>>

/**
 * Loads the running modules for the package ids asked for (those it knows of; all of them when
 * `ids` is undefined). A loader that ignores `ids` and returns everything is correct, only slower.
 */
export type PackageModulesLoader = (ids?: ReadonlySet<string>) => Promise<PackageModules>

// The kernel alone by default; the `tau` command and createAgent hand over the whole package
// (sdk/package-modules.ts: `tau-agent`, its subpaths, and `tau` as an alias), which the kernel
// cannot import itself.
let packageModules: PackageModulesLoader = async () => {
  const kernel = await import('./index.js')
  return { 'tau-agent': kernel, 'tau-agent/kernel': kernel, tau: kernel }
}

/**
 * Sets what `import ... from '<id>'` gives a config or plugin module loaded by tau, so it gets
 * the running tau rather than a second copy (or none, under a global install). Call before the
 * first module is loaded; later calls have no effect on modules already loaded.
 */
export function setPackageModules(load: PackageModulesLoader): void {
  packageModules = load
}

/** The cache directory for transpiled TypeScript: `$TAU_HOME/cache/jiti` (or ~/.tau/cache/jiti). */
function cacheDir(tauHome: string): string {
  return join(tauHome, 'cache', 'jiti')
}

async function getJiti(tauHome: string): Promise<Jiti> {
  // One instance serves every later TAU_HOME too (its transpile cache is shared), unless its
  // cache directory is gone: a library's or a test's temporary home, removed. jiti would fail
  // every new transpile with ENOENT there, so a new instance takes the caller's home.
  if (jitiInstance !== undefined && !existsSync(jitiInstance.dir)) jitiInstance = undefined
  if (jitiInstance === undefined) {
    const dir = cacheDir(tauHome)
    const modules: Record<string, object> = {}
    const jiti = (async () => {
      const { createJiti } = await import('jiti')
      return createJiti(import.meta.url, {
        fsCache: dir,
        // `import ... from 'tau-agent'` (or 'tau') in a config gets this very tau: one instance.
        virtualModules: modules,
        interopDefault: true,
      })
    })()
    jitiInstance = { dir, jiti, modules }
  }
  return jitiInstance.jiti
}

/** Makes the package ids (all of them when undefined) importable by the next jiti import. */
async function providePackageIds(ids: ReadonlySet<string> | undefined): Promise<void> {
  const modules = jitiInstance?.modules
  if (modules === undefined) return
  const missing = ids === undefined ? undefined : new Set([...ids].filter((id) => !(id in modules)))
  if (missing?.size === 0) return
  Object.assign(modules, await packageModules(missing))
}

/** Where the loader's transpile cache is (undefined before the first module load). */
export function transpileCacheDir(): string | undefined {
  return jitiInstance?.dir
}

/**
 * Imports a config or plugin module by absolute path: natively when Node can load its graph
 * itself (with the package ids it names mapped), else through jiti; either way so that `import ... from 'tau-agent'` means the running tau in
 * every module form, also where the project has no local copy of tau installed (a global `tau`).
 */
export async function importModule(file: string, tauHome: string): Promise<unknown> {
  const graph = await readModuleGraph(file)
  if (graph.native) {
    if (graph.packageIds === undefined || graph.packageIds.size > 0) {
      mapPackageModules(await packageModules(graph.packageIds), graph.files)
    }
    return importNatively(file, tauHome)
  }
  const jiti = await getJiti(tauHome)
  await providePackageIds(graph.packageIds)
  return jiti.import(file)
}

/**
 * A native import. A module that does not parse is handed to jiti, whose error names the file,
 * line and column (Node's names neither in the message). Parsing precedes evaluation, so no code
 * of the graph has run yet: a SyntaxError with a frame in a module file was thrown by running
 * code (JSON.parse at the top level, say), and is the module's own error.
 */
async function importNatively(file: string, tauHome: string): Promise<unknown> {
  try {
    return await import(pathToFileURL(file).href)
  } catch (error) {
    if (!(error instanceof SyntaxError) || /^\s+at .*file:\/\//m.test(error.stack ?? '')) throw error
    const jiti = await getJiti(tauHome)
    return jiti.import(file)
  }
}

/**
 * Resolves a package name from a directory the way Node would for an ESM import. Returns
 * undefined when the package is not installed there.
 */
export async function resolvePackage(
  name: string,
  fromDir: string,
  tauHome: string,
): Promise<string | undefined> {
  const jiti = await getJiti(tauHome)
  const resolved = jiti.esmResolve(name, { parentURL: pathToFileURL(join(fromDir, '_')).href, try: true })
  if (resolved === undefined) return undefined
  const path = resolved.startsWith('file:') ? new URL(resolved).pathname : resolved
  return existsSync(path) ? path : undefined
}

/** The default export of a module namespace (or the namespace itself when there is none). */
export function defaultExport(namespace: unknown): unknown {
  if (namespace !== null && typeof namespace === 'object' && 'default' in namespace) {
    return (namespace as { default: unknown }).default
  }
  return namespace
}
