/**
 * Where tau's own package is installed, found from this module's file: the nearest directory
 * upward with a package.json that declares the `tau` command. The same walk works from the
 * sources (plugins/skills/), from tsc's output (dist/plugins/skills/) and from the bundled binary
 * (dist/bin/tau.js), and does not depend on the package's npm name.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

interface PackageJson {
  readonly name?: string
  readonly version?: string
  readonly bin?: string | Readonly<Record<string, string>>
}

export interface TauPackage {
  /** The package's directory. */
  readonly root: string
  /** Its npm name, as its package.json says. */
  readonly name: string
  readonly version: string
}

/** tau's package, or undefined when this module is not inside it (copied into another bundle). */
export function findTauPackage(from: string = fileURLToPath(import.meta.url)): TauPackage | undefined {
  let dir = dirname(from)
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
      if (pkg.name && typeof pkg.bin === 'object' && pkg.bin.tau)
        return { root: dir, name: pkg.name, version: pkg.version ?? '0.0.0' }
    } catch {
      // no (readable) package.json here; keep going up
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}
