/**
 * What a config or plugin module that tau loads gets for `import ... from 'tau-agent'` (and its
 * subpaths): the running package, not a second copy from node_modules (or nothing, when tau is
 * installed globally). `tau` is an alias of the root: configs written before the package had
 * its npm name keep working. Each subpath is loaded when a module first names it (the test kit,
 * the presets and the root's every plugin entry are not loaded for a module that imports only
 * `tau-agent/kernel`, say); the modules are tau's own, so a plugin's `instanceof TauError` holds.
 */
import type { PackageModules } from '../kernel/index.js'

/** The npm name (`tau` on npm is an unrelated package); the command stays `tau`. */
export const PACKAGE_NAME = 'tau-agent'

/** Each package id and how to load its module. */
const SUBPATHS: Readonly<Record<string, () => Promise<object>>> = {
  tau: () => import('./index.js'),
  'tau/testing': () => import('./testing.js'),
  [PACKAGE_NAME]: () => import('./index.js'),
  [`${PACKAGE_NAME}/agent`]: () => import('./create-agent.js'),
  [`${PACKAGE_NAME}/plugins`]: () => import('./plugins.js'),
  [`${PACKAGE_NAME}/presets`]: () => import('../presets/index.js'),
  [`${PACKAGE_NAME}/testing`]: () => import('./testing.js'),
  [`${PACKAGE_NAME}/kernel`]: () => import('../kernel/index.js'),
}

/** The modules for the ids asked for that are tau's (every id when `ids` is undefined). */
export async function packageModules(ids?: ReadonlySet<string>): Promise<PackageModules> {
  const wanted = Object.keys(SUBPATHS).filter((id) => ids === undefined || ids.has(id))
  // One after the other: the root and its subpaths share import cycles (see bin/cli.ts).
  const modules: Record<string, object> = {}
  for (const id of wanted) modules[id] = await (SUBPATHS[id] as () => Promise<object>)()
  return modules
}
