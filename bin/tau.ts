#!/usr/bin/env node
/**
 * The `tau` command's launcher, kept tiny: it sets what must be set before any module is
 * compiled, answers a bare `tau --version` itself (the command's body, bin/cli.ts, is one bundle
 * of about a megabyte that V8 must compile before it can run a line of it), and loads the body
 * for everything else.
 */
import { readFileSync } from 'node:fs'
import module from 'node:module'
import { sep } from 'node:path'
import v8 from 'node:v8'

const UNDICI_H2 = ['', 'undici', 'lib', 'dispatcher', 'client-h2.js'].join(sep)

// Node 22.1+ caches compiled code between runs; a no-op on Node 20.
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

// undici parses HTTP with llhttp, compiled to WebAssembly. V8 compiles WebAssembly twice: at once
// with its baseline compiler, then optimised on background threads, and Node waits for those
// threads before the process may exit: 75 to 120 ms at the end of every `tau start -p` that made a
// model call (docs/benchmarks.md). The baseline code parses a model's answer in microseconds, so
// the command keeps to it. Only the command sets this: a program embedding tau keeps its own flags.
v8.setFlagsFromString('--liftoff-only')

// undici (the providers' HTTP client) requires node:http2 as it loads, for HTTP/2 connections tau
// never opens (allowH2 stays off): Node's http2 modules are about 10 ms of CPU at every start that
// makes a model call. Its client-h2 module gets a stand-in instead, with the constants it reads
// at load (protocol constants, fixed by RFC 9113 and nghttp2) and a connect() that loads the real
// module. Only the command does this, and only for that one file of undici.
const loader = module as unknown as {
  _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown
}
const load = loader._load
loader._load = function (request, parent, isMain) {
  if ((request === 'node:http2' || request === 'http2') && parent?.filename?.endsWith(UNDICI_H2)) {
    return {
      constants: {
        HTTP2_HEADER_AUTHORITY: ':authority',
        HTTP2_HEADER_METHOD: ':method',
        HTTP2_HEADER_PATH: ':path',
        HTTP2_HEADER_SCHEME: ':scheme',
        HTTP2_HEADER_CONTENT_LENGTH: 'content-length',
        HTTP2_HEADER_EXPECT: 'expect',
        HTTP2_HEADER_STATUS: ':status',
        HTTP2_HEADER_PROTOCOL: ':protocol',
        NGHTTP2_REFUSED_STREAM: 7,
        NGHTTP2_CANCEL: 8,
      },
      connect: (...args: unknown[]) =>
        (load.call(this, 'node:http2', parent, false) as { connect(...a: unknown[]): unknown }).connect(
          ...args,
        ),
    }
  }
  return load.call(this, request, parent, isMain)
}

const args = process.argv.slice(2)
const version =
  args.length === 1 && (args[0] === '--version' || args[0] === '-v') ? packageVersion() : undefined
if (version !== undefined) process.stdout.write(`${version}\n`)
else await import('./cli.js')

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
