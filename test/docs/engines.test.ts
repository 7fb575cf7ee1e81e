/**
 * The README promises Node 20.19+: every package the lock file installs must accept it, or
 * `npm ci` warns EBADENGINE (content-type 3, through a dev dependency, wanted Node 22; an
 * override in package.json pins @octokit/request's to 2.1.0, which has the same parse()).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'

const require = createRequire(import.meta.url)
// semver comes with npm's own tree (a dependency of several dev dependencies), not added for this.
const semver = require('semver') as { satisfies(version: string, range: string): boolean }

interface LockPackage {
  readonly version?: string
  readonly engines?: { readonly node?: string } | readonly string[]
  readonly optional?: boolean
}

describe('engines', () => {
  it('package.json promises Node 20.19 or later', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(pkg.engines.node).toBe('>=20.19')
  })

  it('every package in package-lock.json accepts Node 20.19.0', () => {
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, LockPackage>
    }
    const refusing: string[] = []
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines)
        ? undefined
        : (entry.engines as { node?: string } | undefined)?.node
      if (path === '' || range === undefined || entry.optional) continue
      if (!semver.satisfies('20.19.0', range)) refusing.push(`${path}@${entry.version} (node ${range})`)
    }
    expect(refusing).toEqual([])
  })
})
