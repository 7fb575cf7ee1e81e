/**
 * Builds dist/ once before the suite, so end-to-end tests drive the real compiled `tau` binary
 * exactly as users run it: `npm run build`'s two steps, tsc (incremental: a no-op when nothing
 * changed) and the bundled command (scripts/bundle-bin.mjs, well under a second).
 *
 * Both projects of vitest.config.ts name this file (a unit file or two runs the binary too), and
 * vitest calls it once per project in one process: the second call finds the build done.
 *
 * It also makes the run's directory for the PostgreSQL template data directories (filled by the
 * first test cluster that needs each, copied by the others: the `initdb` output, and that migrated
 * for tau's session store and for DBOS; test/plugins/session-postgres/pg-cluster.ts), removed at
 * the end of the run. Workers inherit the variable naming it.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BUILT = 'TAU_TEST_DIST_BUILT'
/** The variable naming the run's PostgreSQL template directory (pg-cluster.ts reads it). */
export const PG_TEMPLATE_ENV = 'TAU_TEST_PG_TEMPLATE'

export default function setup(): (() => void) | undefined {
  const teardown = pgTemplateDir()
  if (process.env[BUILT] === '1') return teardown
  const root = fileURLToPath(new URL('..', import.meta.url))
  execFileSync(process.execPath, ['node_modules/typescript-native/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  })
  execFileSync(process.execPath, ['scripts/bundle-bin.mjs'], { cwd: root, stdio: 'inherit' })
  process.env[BUILT] = '1'
  return teardown
}

/** Makes the template's directory once per run (the second project's call finds it); its teardown. */
function pgTemplateDir(): (() => void) | undefined {
  if (process.env[PG_TEMPLATE_ENV]) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'tau-pg-template-'))
  // Clusters run as `nobody` when the tests run as root: it must reach the template inside.
  chmodSync(dir, 0o755)
  process.env[PG_TEMPLATE_ENV] = dir
  return () => {
    rmSync(dir, { recursive: true, force: true })
    delete process.env[PG_TEMPLATE_ENV]
  }
}
