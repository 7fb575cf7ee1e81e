#!/usr/bin/env node
/**
 * The `tau` command's launcher, kept tiny: it sets what must be set before any module is
 * compiled, answers a bare `tau --version` itself (the command's body, bin/cli.ts, is one bundle
 * of about a megabyte that V8 must compile before it can run a line of it), and loads the body
 * for everything else — built, as a script through `vm.Script` with a code cache
 * (bin/compile-cache.ts), so that V8 compiles it once rather than at every start.
 */
import { isAscii } from 'node:buffer'
import { type BigIntStats, closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import module, { createRequire } from 'node:module'
import { join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import {
  type CacheState,
  cacheDirectory,
  cacheName,
  readCache,
  readMapped,
  writeCache,
} from './compile-cache.js'
import * as http2StandIn from './undici-h2.js'
import { commandV8Flags } from './v8-flags.js'

const UNDICI_H2 = ['', 'undici', 'lib', 'dispatcher', 'client-h2.js'].join(sep)

/**
 * The sha1 of the body's bytes, written into the built launcher by scripts/bundle-bin.mjs (not
 * defined from source): the cache's name takes it instead of hashing the 2 MB body at every start
 * (~2 ms). See bodyIdentity for why the key still changes whenever the body's bytes do.
 */
declare const __TAU_BODY_SHA1__: string | undefined

// What must be set before any code is compiled: bin/v8-flags.ts says what and why.
for (const flag of commandV8Flags(process.execArgv, process.env.NODE_OPTIONS)) v8.setFlagsFromString(flag)

// undici (the providers' HTTP client) requires node:http2 as it loads, for HTTP/2 connections tau
// never opens (allowH2 stays off): Node's http2 modules are about 10 ms of CPU at every start that
// makes a model call. The body's own undici (bundled) gets the stand-in at build time; a copy
// loaded from node_modules (WebFetch's, a local model's download) gets it here, for its client-h2
// module only (bin/undici-h2.ts). Only the command does this.
const loader = module as unknown as {
  _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown
}
const load = loader._load
loader._load = function (request, parent, isMain) {
  if ((request === 'node:http2' || request === 'http2') && parent?.filename?.endsWith(UNDICI_H2))
    return http2StandIn
  return load.call(this, request, parent, isMain)
}

const args = process.argv.slice(2)
const version =
  args.length === 1 && (args[0] === '--version' || args[0] === '-v') ? packageVersion() : undefined
if (version !== undefined) process.stdout.write(`${version}\n`)
else if (import.meta.url.endsWith('.ts')) {
  // From source (jiti): the body is the TypeScript module itself.
  const { main } = (await import('./cli.js')) as { main(): Promise<void> }
  await main()
} else await runBody(fileURLToPath(new URL('./cli.js', import.meta.url)))

/**
 * Runs the bundled body, dist/bin/cli.js: a script (scripts/bundle-bin.mjs) whose value is a
 * CommonJS-style function, compiled with the code V8 made for it last time. After a run without
 * a usable cache, the code of this run (the functions it compiled lazily included) is written
 * as the process exits.
 */
async function runBody(file: string): Promise<void> {
  const run = compiledBody(file, process.env) as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    importMetaUrl: string,
    dynamicImport: (specifier: string) => Promise<unknown>,
  ) => void
  const bodyModule: { exports: { main?: () => Promise<void> } } = { exports: {} }
  // The body's import() calls (scripts/bundle-bin.mjs): this module is in the body's directory,
  // so the externals resolve from the same node_modules and a relative path means the same file.
  const dynamicImport = (specifier: string) => import(specifier)
  run(bodyModule.exports, createRequire(file), bodyModule, pathToFileURL(file).href, dynamicImport)
  await bodyModule.exports.main?.()
}

/**
 * Reads the body and compiles it. Its bytes are garbage once this returns (V8 keeps the source
 * string). Held for the whole run, as they were from runBody's frame, the 2 MB buffer brought
 * V8's heap to its limit for a full collection: one mark-compact more in a one-turn
 * `tau start -p` (--trace-gc), about 40 ms of CPU (docs/benchmarks.md).
 */
function compiledBody(file: string, env: NodeJS.ProcessEnv): unknown {
  const fd = openSync(file, 'r')
  let body: Buffer
  let identity: Buffer | string
  try {
    const stat = fstatSync(fd, { bigint: true })
    // Not readFileSync: see readMapped for why the bytes are not malloc's.
    body = readMapped(fd, Number(stat.size))
    identity = bodyIdentity(stat, body)
  } finally {
    closeSync(fd)
  }
  // The bundle is ASCII (the build checks): read as Latin-1, V8 holds it as a one-byte string.
  const source = body.toString(isAscii(body) ? 'latin1' : 'utf8')
  // With --enable-source-maps (debugging), Node's CommonJS loader compiles it: only the loaders
  // register a file's source map, so stack traces name the TypeScript sources. No cache then.
  return process.sourceMapsEnabled
    ? compiledByLoader(file, source)
    : compiledWithCache(file, identity, source, env)
}

/**
 * What names the body in the cache: the build's hash of its bytes with the file's size, inode
 * and change time. A rebuild changes the hash; any other write of the file changes its change
 * time (which, unlike the modification time, no one can set back), so an edited body never runs
 * with the code compiled for the bytes it had. Without a built-in hash (a launcher not built by
 * scripts/bundle-bin.mjs), the bytes themselves.
 */
function bodyIdentity(stat: BigIntStats, body: Buffer): Buffer | string {
  if (typeof __TAU_BODY_SHA1__ !== 'string') return body
  return `${__TAU_BODY_SHA1__}\0${stat.size}\0${stat.dev}\0${stat.ino}\0${stat.ctimeNs}`
}

/** The body's function, compiled with the code cache (read, and written at exit if it had none). */
function compiledWithCache(
  file: string,
  identity: Buffer | string,
  source: string,
  env: NodeJS.ProcessEnv,
): unknown {
  const { dir, refused } = cacheDirectory(env)
  const name = dir === undefined ? undefined : cacheName(identity, env)
  const cachedData = dir === undefined || name === undefined ? undefined : readCache(join(dir, name))
  // Node 22.1+ caches the code of the modules it loads (undici, the MCP SDK, jiti: the body's
  // externals) when told where: in the same checked directory, not Node's default under the
  // shared temporary directory. (Node 20 has no such cache.)
  if (dir !== undefined)
    (module as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache?.(join(dir, 'node'))
  const vm = process.getBuiltinModule('node:vm')
  const script = new vm.Script(source, { filename: file, cachedData })
  const state: CacheState =
    dir === undefined
      ? refused
        ? 'refused'
        : 'off'
      : cachedData === undefined
        ? 'miss'
        : script.cachedDataRejected
          ? 'rejected'
          : 'hit'
  if (env.TAU_DEBUG_COMPILE_CACHE === '1')
    process.stderr.write(`tau: compile cache ${state}${refused ? `: ${refused}` : dir ? ` (${dir})` : ''}\n`)
  if ((state === 'miss' || state === 'rejected') && dir !== undefined && name !== undefined) {
    // At exit, so that the code the run compiled lazily is in it too.
    process.once('exit', () => {
      try {
        writeCache(dir, name, script.createCachedData())
      } catch {
        // the cache is an optimisation: never a failure of tau
      }
    })
  }
  return script.runInThisContext()
}

/**
 * The module compiledByLoader made, held for the whole run: Node keeps a CommonJS module's source
 * map in a weak map keyed by the module, so once a collection took this one (nothing else refers
 * to it) stack traces named dist/bin/cli.js again instead of the TypeScript sources.
 */
let bodyLoader: unknown

/** The body's function, compiled by Node's CommonJS loader (which applies the source map). */
function compiledByLoader(file: string, source: string): unknown {
  const Loader = module as unknown as new (
    id: string,
  ) => { filename: string; exports: unknown; _compile(code: string, filename: string): void }
  const loader = new Loader(file)
  loader.filename = file
  // On the banner's line: the body's lines and columns stay where the map says.
  loader._compile(`module.exports = ${source}`, file)
  bodyLoader = loader
  return loader.exports
}

/** The version in tau's package.json, one level up from bin/ (source) or two from dist/bin/. */
function packageVersion(): string | undefined {
  // The nearer first: from source, two levels up is outside the repository.
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        bin?: { tau?: string }
        version?: string
      }
      if (pkg.bin?.tau && pkg.version) return pkg.version
    } catch {
      // not here: the other layout, or the CLI's own lookup (kernel/version.ts)
    }
  }
  return undefined
}
