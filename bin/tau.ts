#!/usr/bin/env node
/**
 * The `tau` command. Kept tiny: the CLI lives in kernel/cli; the built-in presets are handed to
 * it here, so the kernel never imports a capability.
 */
import module from 'node:module'

// Node 22.1+ caches compiled code between runs; a no-op on Node 20.
;(module as { enableCompileCache?: () => unknown }).enableCompileCache?.()

// `tau ... | head`: a reader that goes away is not an error of tau's. Stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}

const [{ runCli }, { builtinPresets, DEFAULT_PRESET }] = await Promise.all([
  import('../kernel/cli/main.js'),
  import('../presets/index.js'),
])

process.exitCode = await runCli(process.argv.slice(2), {
  presets: builtinPresets,
  defaultPreset: DEFAULT_PRESET,
})
