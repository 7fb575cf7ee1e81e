/**
 * Builds dist/ once before the suite, so end-to-end tests drive the real compiled `tau` binary
 * exactly as users run it. Incremental: a no-op when nothing changed.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  })
}
