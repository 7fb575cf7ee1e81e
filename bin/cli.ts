/**
 * The `tau` command's body, loaded by bin/tau.ts (the launcher) for every command but a bare
 * `tau --version`. The CLI lives in kernel/cli; the built-in presets are handed to it here, so the
 * kernel never imports a capability.
 */
import { config as zodConfig } from 'zod'

// zod compiles a parser for each object schema with `new Function` the first time it parses; a
// command run validates each config slice once and a tool's input a few times, so the compile
// costs more than it saves. (Set before any schema exists: zod reads it when a schema is made.)
zodConfig({ jitless: true })

// `tau ... | head`: a reader that goes away is not an error of tau's. Stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}

/** Runs the command line; the launcher calls it (a script body has no top-level await). */
export async function main(): Promise<void> {
  // One after the other, the kernel first: run from source, jiti evaluates these as CommonJS, and
  // three imports in flight at once entered the kernel's modules mid-cycle (a TDZ error now and then).
  const { setPackageModules } = await import('../kernel/index.js')
  const { runCli } = await import('../kernel/cli/main.js')
  const { builtinPresets, DEFAULT_PRESET } = await import('../presets/index.js')

  // A config's `import ... from 'tau-agent'` (or 'tau') gets this running tau, loaded on first use.
  // Run from source (`node --import jiti/register bin/tau.ts`), jiti evaluates the package entries
  // as CommonJS, where the root entry's re-exports read plugin modules in the middle of their
  // import cycles; there configs get the kernel's own mapping (the kernel as `tau-agent`).
  if (!import.meta.url.endsWith('.ts')) {
    setPackageModules(() => import('../sdk/package-modules.js').then((m) => m.packageModules()))
  }

  process.exitCode = await runCli(process.argv.slice(2), {
    presets: builtinPresets,
    defaultPreset: DEFAULT_PRESET,
  })
}
