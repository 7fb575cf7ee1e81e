/**
 * What a config or plugin module that tau loads gets for `import ... from 'tau-agent'` (and its
 * subpaths): the running package, not a second copy from node_modules (or nothing, when tau is
 * installed globally). `tau` is an alias of the root: configs written before the package had
 * its npm name keep working. Loaded only when the first TypeScript or JavaScript module is.
 */
import type { PackageModules } from '../kernel/index.js'

/** The npm name (`tau` on npm is an unrelated package); the command stays `tau`. */
export const PACKAGE_NAME = 'tau-agent'

export async function packageModules(): Promise<PackageModules> {
  const [root, agent, plugins, presets, testing, kernel] = await Promise.all([
    import('./index.js'),
    import('./create-agent.js'),
    import('./plugins.js'),
    import('../presets/index.js'),
    import('./testing.js'),
    import('../kernel/index.js'),
  ])
  const modules: Record<string, object> = { tau: root, 'tau/testing': testing }
  for (const [subpath, module] of Object.entries({
    '': root,
    '/agent': agent,
    '/plugins': plugins,
    '/presets': presets,
    '/testing': testing,
    '/kernel': kernel,
  })) {
    modules[`${PACKAGE_NAME}${subpath}`] = module
  }
  return modules
}
