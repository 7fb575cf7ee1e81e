/**
 * Builds dist/ once before the suite, so end-to-end tests drive the real compiled `tau` binary
 * exactly as users run it: `npm run build`'s two steps, tsc (incremental: a no-op when nothing
 * changed) and the bundled command (scripts/bundle-bin.mjs, well under a second).
 *
 * Both projects of vitest.config.ts name this file (a unit file or two runs the binary too), and
 * vitest calls it once per project in one process: the second call finds the build done.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BUILT = 'TAU_TEST_DIST_BUILT'

export default function setup(): void {
  if (process.env[BUILT] === '1') return
  const root = fileURLToPath(new URL('..', import.meta.url))
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  })
  execFileSync(process.execPath, ['scripts/bundle-bin.mjs'], { cwd: root, stdio: 'inherit' })
  process.env[BUILT] = '1'
}
