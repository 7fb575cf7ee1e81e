/**
 * The V8 flags the `tau` command sets for itself at run time, before it compiles its body
 * (bin/tau.ts). Only the command sets them: a program embedding tau keeps its own flags. They are
 * part of what names compiled code: V8 rejects a code cache made under other flags, and the tag
 * Node names its own cache's folder with covers them (test/e2e/compile-cache.test.ts asks a node
 * that sets these for the tag).
 *
 * - `--liftoff-only`. undici parses HTTP with llhttp, compiled to WebAssembly. V8 compiles
 *   WebAssembly twice: at once with its baseline compiler, then optimised on background threads,
 *   and Node waits for those threads before the process may exit: 75 to 120 ms at the end of every
 *   `tau start -p` that made a model call (docs/benchmarks.md). The baseline code parses a model's
 *   answer in microseconds, so the command keeps to it.
 * - `--semi-space-growth-factor=1`: V8's young generation stays at its initial size (2 to 2.5 MiB on
 *   Node 20 to 24) instead of doubling up to 32 MiB. What an agent's turn allocates is short-lived
 *   (request bodies, stream chunks, parsed events) and the process mostly waits on the network:
 *   a young generation of 32 MiB is 14–16 MiB of peak RSS that a 100-turn run pays for nothing
 *   but fewer, larger scavenges (docs/benchmarks.md, "the young generation"). Not set when the user
 *   sizes the young generation themselves: `--max-semi-space-size` in NODE_OPTIONS (the only one of
 *   the three Node allows there), or it, `--min-semi-space-size` or `--semi-space-growth-factor`
 *   in Node's own arguments.
 */
export function commandV8Flags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const sized = /semi[-_]space/.test(`${execArgv.join(' ')} ${nodeOptions ?? ''}`)
  return sized ? ['--liftoff-only'] : ['--liftoff-only', '--semi-space-growth-factor=1']
}
