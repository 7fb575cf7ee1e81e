/**
 * tau as npm delivers it: `npm pack` of this repository (the package.json `files`, dist/ as the
 * test run built it), unpacked into a project's node_modules under the package's own name, as
 * `npm install <tarball>` puts it. Its dependencies, and the tools a project installs beside it
 * (TypeScript, vitest, @types/node, zod), are linked from this repository's node_modules: the
 * same packages npm would install, without the network.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './run-tau.js'

const run = promisify(execFile)

export interface PackedTau {
  readonly tarball: string
  readonly name: string
  readonly dependencies: readonly string[]
}

/** Packs the repository once (no scripts: dist/ is already built). */
export async function packTau(destination?: string): Promise<PackedTau> {
  const dir = destination ?? (await mkdtemp(join(tmpdir(), 'tau-pack-')))
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, npm_config_cache: join(dir, '.npm') },
    maxBuffer: 64 * 1024 * 1024,
  })
  const [info] = JSON.parse(stdout) as Array<{ filename: string }>
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    name: string
    dependencies?: Record<string, string>
  }
  return {
    tarball: join(dir, info!.filename),
    name: pkg.name,
    dependencies: Object.keys(pkg.dependencies ?? {}),
  }
}

/**
 * A package linked beside the packed tau: its name in the project, or the name and the directory
 * under this repository's node_modules it is linked from (an npm alias, e.g. `typescript` from
 * `typescript-native`, TypeScript 7, which a newcomer's `npm install typescript` now gets).
 */
export type LinkedPackage = string | { readonly name: string; readonly from: string }

/** Installs the packed tau into `project`/node_modules, with `extra` packages linked beside it. */
export async function installPacked(
  project: string,
  packed: PackedTau,
  extra: readonly LinkedPackage[] = [],
): Promise<void> {
  const target = join(project, 'node_modules', packed.name)
  await mkdir(target, { recursive: true })
  await run('tar', ['-xzf', packed.tarball, '-C', target, '--strip-components=1'])
  const links = new Map(packed.dependencies.map((dep) => [dep, dep]))
  for (const dep of extra) {
    if (typeof dep === 'string') links.set(dep, dep)
    else links.set(dep.name, dep.from)
  }
  for (const [name, from] of links) {
    const link = join(project, 'node_modules', name)
    await mkdir(dirname(link), { recursive: true })
    await symlink(join(REPO_ROOT, 'node_modules', from), link, 'dir').catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error
      },
    )
  }
}
