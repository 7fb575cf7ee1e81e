/**
 * Loads config files and plugin modules, TypeScript included, whether tau runs compiled or from
 * source. jiti transpiles TypeScript (and the local .ts files a config imports) and caches the
 * result on disk; it is imported only when a module file is actually loaded (JSON and YAML
 * configs never need it), since its import alone costs ~30 ms.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Jiti } from 'jiti'

/** The one jiti of the process, and the cache directory it writes to (it makes it at creation). */
let jitiInstance: { readonly dir: string; readonly jiti: Promise<Jiti> } | undefined

/** Module ids a config or plugin module may import, mapped to the running modules. */
export type PackageModules = Readonly<Record<string, object>>

// The kernel alone by default; the `tau` command and createAgent hand over the whole package
// (sdk/package-modules.ts: `tau-agent`, its subpaths, and `tau` as an alias), which the kernel
// cannot import itself.
let packageModules: () => Promise<PackageModules> = async () => {
  const kernel = await import('./index.js')
  return { 'tau-agent': kernel, 'tau-agent/kernel': kernel, tau: kernel }
}

/**
 * Sets what `import ... from '<id>'` gives a config or plugin module loaded by tau, so it gets
 * the running tau rather than a second copy (or none, under a global install). Call before the
 * first module is loaded; later calls have no effect on modules already loaded.
 */
export function setPackageModules(load: () => Promise<PackageModules>): void {
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
    const jiti = (async () => {
      const [{ createJiti }, modules] = await Promise.all([import('jiti'), packageModules()])
      return createJiti(import.meta.url, {
        fsCache: dir,
        // `import ... from 'tau-agent'` (or 'tau') in a config gets this very tau: one instance.
        virtualModules: { ...modules },
        interopDefault: true,
      })
    })()
    jitiInstance = { dir, jiti }
  }
  return jitiInstance.jiti
}

/** Where the loader's transpile cache is (undefined before the first module load). */
export function transpileCacheDir(): string | undefined {
  return jitiInstance?.dir
}

/**
 * Imports a config or plugin module by absolute path. Everything goes through jiti, JavaScript
 * too, so that `import ... from 'tau'` means the running tau in every module form, also where
 * the project has no local copy of tau installed (a global `tau`).
 */
export async function importModule(file: string, tauHome: string): Promise<unknown> {
  const jiti = await getJiti(tauHome)
  return jiti.import(file)
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
