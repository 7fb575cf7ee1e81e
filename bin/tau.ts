#!/usr/bin/env node
/**
 * The `tau` command's launcher, kept tiny: it sets what must be set before any module is
 * compiled, answers a bare `tau --version` itself (the command's body, bin/cli.ts, is one bundle
 * of about a megabyte that V8 must compile before it can run a line of it), and loads the body
 * for everything else.
 */
import { readFileSync } from 'node:fs'
import module from 'node:module'
import v8 from 'node:v8'

// Node 22.1+ caches compiled code between runs; a no-op on Node 20.
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

// undici parses HTTP with llhttp, compiled to WebAssembly. V8 compiles WebAssembly twice: at once
// with its baseline compiler, then optimised on background threads, and Node waits for those
// threads before the process may exit: 75 to 120 ms at the end of every `tau start -p` that made a
// model call (docs/benchmarks.md). The baseline code parses a model's answer in microseconds, so
// the command keeps to it. Only the command sets this: a program embedding tau keeps its own flags.
v8.setFlagsFromString('--liftoff-only')

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
