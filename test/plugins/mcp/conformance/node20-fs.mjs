// `fs` for the conformance runner on Node 20 (see node20-fs-hooks.mjs).
import fs from 'node:fs'

export * from 'node:fs'
export default fs
export const globSync =
  fs.globSync ??
  (() => {
    throw new Error('fs.globSync needs Node 22 (only the runner’s tier-check uses it)')
  })
