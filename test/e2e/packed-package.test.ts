/**
 * tau as npm delivers it, packed once for the file (`npm pack` is about 4 s of CPU): the
 * docs/plugins.md snippets type-checked and run in a newcomer's project (docs-snippets.ts), and
 * the package `tau plugin new` writes, type-checked and tested against it (plugin-new.ts). Both
 * install the same tarball into projects of their own, so neither sees the other's files.
 */
import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { docsSnippetsTests } from './docs-snippets.js'
import { type PackedTau, packTau } from './packed-tau.js'
import { pluginNewTests } from './plugin-new.js'

let packed: PackedTau | undefined
beforeAll(async () => {
  packed = await packTau()
}, 180_000)
afterAll(async () => {
  if (packed) await rm(dirname(packed.tarball), { recursive: true, force: true })
})

const tarball = (): PackedTau => {
  if (packed === undefined) throw new Error('the packed tau is made in beforeAll, before any test')
  return packed
}

docsSnippetsTests(tarball)
pluginNewTests(tarball)
