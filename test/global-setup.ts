/**
 * Builds dist/ once before the suite, so end-to-end tests drive the real compiled `tau` binary
 * exactly as users run it: `npm run build`'s two steps, tsc (incremental: a no-op when nothing
 * changed) and the bundled command (scripts/bundle-bin.mjs, well under a second).
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url))
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  })
  execFileSync(process.execPath, ['scripts/bundle-bin.mjs'], { cwd: root, stdio: 'inherit' })
}
