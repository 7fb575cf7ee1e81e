/** tau's version, from its own package.json (found upward from this file: source, dist or the bundle). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let version: string | undefined

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        bin?: { tau?: string }
        version?: string
      }
      // tau's package is the one with the `tau` command (its npm name is tau-agent).
      if (pkg.bin?.tau && pkg.version) return pkg.version
    } catch {
      // no package.json here; keep going up
    }
    const parent = dirname(dir)
    if (parent === dir) return '0.0.0'
    dir = parent
  }
}

export function tauVersion(): string {
  version ??= readVersion()
  return version
}
