/**
 * The docker/podman CLI as a ContainerRuntime: `run -d` once per session (the image's shell kept
 * alive by `sleep infinity`, `--init` reaping), `exec -i` per command, `rm -f` at dispose. The
 * workspace is mounted at the same paths; `--network none` unless the spec says `full`; the
 * policy's denyWrite paths in the workspace are mounted read-only and its denyRead ones masked.
 * Variables go by name (`-e NAME`, the value in exec's own environment), never in argv, so `ps`
 * does not show them. An engine keeps its container when tau is killed (`kill -9`: no dispose
 * runs), so each is labelled `tau.session=1`, `tau.pid=PID` and `tau.host=HOSTNAME`; before its
 * first container a runtime removes those of this host whose tau process is gone. A spec with a
 * `build` (devcontainer.json's Dockerfile) has its image built first, `build -q -f FILE -t
 * tau-devcontainer:HASH CONTEXT`, once per runtime for the same Dockerfile, arguments and stage
 * (the engine's layer cache makes a rebuild in a later process cheap).
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { promisify } from 'node:util'
import { TauError } from '../../kernel/index.js'
import type { ContainerHandle, ContainerRuntime, ContainerSpec, ImageBuild } from './container.js'
import { SANDBOX_ERRORS } from './errors.js'
import { underAny } from './policy.js'

const run = promisify(execFile)

/** Whether a process with this pid exists (EPERM: it does, another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class DockerCliRuntime implements ContainerRuntime {
  readonly diesWithParent = false
  /** @param cli `docker`, `podman`, or a path to either. */
  constructor(
    readonly cli: string = 'docker',
    readonly name: string = cli.endsWith('podman') ? 'podman' : 'docker',
  ) {}

  private leftovers: Promise<string[]> | undefined

  /**
   * Removes the containers a killed tau left on this host: labelled `tau.session`, made on this
   * host, their `tau.pid` no longer running. Best effort (an engine that cannot list them is
   * not a reason to refuse the session); returns the ids removed.
   */
  removeLeftovers(): Promise<string[]> {
    this.leftovers ??= this.findLeftovers().then(async (ids) => {
      if (ids.length > 0) await run(this.cli, ['rm', '-f', ...ids], { timeout: 60_000 }).catch(() => {})
      return ids
    })
    return this.leftovers
  }

  private async findLeftovers(): Promise<string[]> {
    // docker's ps has a Label method; podman's Labels is a map.
    const label = (name: string) =>
      this.name === 'podman' ? `{{index .Labels "${name}"}}` : `{{.Label "${name}"}}`
    let listing: string
    try {
      listing = (
        await run(
          this.cli,
          [
            'ps',
            '-a',
            '--filter',
            'label=tau.session=1',
            '--format',
            `{{.ID}} ${label('tau.pid')} ${label('tau.host')}`,
          ],
          { timeout: 60_000 },
        )
      ).stdout
    } catch {
      return []
    }
    const host = hostname()
    const ids: string[] = []
    for (const line of listing.split('\n')) {
      const [id, pid, owner] = line.trim().split(/\s+/)
      if (!id || !/^[0-9a-f]{12,64}$/i.test(id) || owner !== host) continue
      const owning = Number(pid)
      if (Number.isInteger(owning) && owning > 0 && owning !== process.pid && !processAlive(owning))
        ids.push(id)
    }
    return ids
  }

  private readonly builds = new Map<string, Promise<string>>()

  /** The tag a build gets: the same Dockerfile, context, arguments and stage, the same tag. */
  buildTag(build: ImageBuild): string {
    const hash = createHash('sha256')
    hash.update(readFileSync(build.dockerfile))
    hash.update(JSON.stringify([build.dockerfile, build.context, build.args, build.target ?? '']))
    return `tau-devcontainer:${hash.digest('hex').slice(0, 16)}`
  }

  /** `build` arguments for an image build (exported for tests). */
  buildArgs(build: ImageBuild, tag: string): string[] {
    const args = ['build', '-q', '-f', build.dockerfile, '-t', tag, '--label', 'tau.build=1']
    // Names only: each value goes in the engine's environment, never in argv where ps shows it.
    for (const name of Object.keys(build.args)) args.push('--build-arg', name)
    if (build.target) args.push('--target', build.target)
    args.push(build.context)
    return args
  }

  /** The spec's image: its own, or the one built from its Dockerfile (once per runtime). */
  private imageOf(spec: ContainerSpec): Promise<string | undefined> {
    if (spec.image || !spec.build) return Promise.resolve(spec.image)
    const build = spec.build
    const tag = this.buildTag(build)
    let built = this.builds.get(tag)
    if (!built) {
      built = run(this.cli, this.buildArgs(build, tag), {
        timeout: 30 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, ...build.args },
      }).then(
        () => tag,
        (error: unknown) => {
          this.builds.delete(tag)
          const stderr = (error as { stderr?: string }).stderr?.trim() ?? ''
          const detail = stderr ? stderr.split('\n').slice(-15).join('\n') : (error as Error).message
          throw new TauError(
            SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
            `${build.source}: build: ${this.name} could not build the image from ${build.dockerfile}: ${detail}`,
            { plugin: 'sandbox' },
          )
        },
      )
      this.builds.set(tag, built)
    }
    return built
  }

  /** `run -d` arguments for a spec (exported for tests and `tau doctor`). */
  createArgs(spec: ContainerSpec): string[] {
    if (!spec.image)
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        `the ${this.name} runtime needs an image: sandbox.container.image, or "image" in devcontainer.json`,
        { plugin: 'sandbox' },
      )
    const args = ['run', '-d', '--init', '--label', 'tau.session=1']
    args.push('--label', `tau.pid=${process.pid}`, '--label', `tau.host=${hostname()}`)
    if (spec.network !== 'full') args.push('--network', 'none')
    for (const path of spec.workspace) args.push('-v', `${path}:${path}`)
    const writable = spec.workspace
    for (const path of spec.policy?.denyWrite ?? [])
      if (underAny(path, writable)) args.push('-v', `${path}:${path}:ro`)
    for (const path of spec.policy?.denyRead ?? []) {
      if (!underAny(path, writable)) continue
      let directory = false
      try {
        directory = statSync(path).isDirectory()
      } catch {
        continue
      }
      args.push(...(directory ? ['--tmpfs', `${path}:ro`] : ['-v', `/dev/null:${path}:ro`]))
    }
    for (const mount of spec.mounts) {
      args.push('-v', `${mount.source}:${mount.target}${mount.readonly ? ':ro' : ''}`)
    }
    if (spec.user) args.push('-u', spec.user)
    if (spec.workspaceFolder) args.push('-w', spec.workspaceFolder)
    args.push(spec.image, 'sleep', 'infinity')
    return args
  }

  async create(given: ContainerSpec): Promise<ContainerHandle> {
    await this.removeLeftovers()
    const image = await this.imageOf(given)
    const spec: ContainerSpec = image ? { ...given, image } : given
    let id: string
    try {
      id = (await run(this.cli, this.createArgs(spec), { timeout: 120_000 })).stdout.trim()
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        `${this.name} could not start a container from '${spec.image}': ${detail}`,
        { plugin: 'sandbox' },
      )
    }
    if (!/^[0-9a-f]{12,64}$/i.test(id))
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER,
        `${this.name} run gave no container id (got '${id}')`,
        {
          plugin: 'sandbox',
        },
      )
    let removed = false
    return {
      id,
      exec: (argv, cwd, env) => ({
        argv: [
          this.cli,
          'exec',
          '-i',
          '-w',
          cwd,
          ...(spec.user ? ['-u', spec.user] : []),
          ...Object.keys(env).flatMap((name) => ['-e', name]),
          id,
          ...argv,
        ],
        env,
      }),
      remove: async () => {
        if (removed) return
        removed = true
        await run(this.cli, ['rm', '-f', id], { timeout: 60_000 }).catch(() => {})
      },
    }
  }
}
