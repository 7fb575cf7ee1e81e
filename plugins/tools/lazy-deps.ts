/**
 * fast-glob (~20 ms to import) and ignore (~5 ms) are needed only when a search or a path rule
 * runs, not at every start: load them on first use. Both are CommonJS, so a synchronous require
 * keeps the callers synchronous.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

type FastGlob = typeof import('fast-glob')
type IgnoreFactory = typeof import('ignore')

let fastGlob: FastGlob | undefined
let ignoreFactory: IgnoreFactory | undefined

export function loadFastGlob(): FastGlob {
  fastGlob ??= require('fast-glob') as FastGlob
  return fastGlob
}

export function loadIgnore(): IgnoreFactory {
  if (!ignoreFactory) {
    const module = require('ignore') as IgnoreFactory | { default: IgnoreFactory }
    ignoreFactory = typeof module === 'function' ? module : module.default
  }
  return ignoreFactory
}
