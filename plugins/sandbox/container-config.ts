/**
 * `sandbox.mode: 'container'`: what a session's container is, from tau's `sandbox.container`
 * block over the project's devcontainer.json (field by field), and which runtime runs it. What
 * the project file asks that would widen the sandbox or run code — its `mounts`, its
 * `postCreateCommand` and building its `build` Dockerfile — waits for workspace trust
 * (plugins/trust); the rest (image, user,
 * variables) only chooses what the container is. Every problem is TAU_SANDBOX_CONTAINER naming
 * the file and field, found when the environment is made, not at the first command.
 */
import { existsSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join, relative } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { bwrapStatus } from './bwrap.js'
import type { SandboxConfig } from './config.js'
import type { ContainerMount, ContainerRuntime, ImageBuild } from './container.js'
import { DockerCliRuntime } from './container-docker.js'
import { BwrapRootfsRuntime } from './container-rootfs.js'
import { type Devcontainer, findDevcontainer, readDevcontainer } from './devcontainer.js'
import type { Command } from './environment.js'
import { SANDBOX_ERRORS } from './errors.js'
import { defaultDenyRead } from './policy.js'
import { absoluteFrom, insideRoots, realPathSyncOf } from './workspace-paths.js'

/** A session's container, decided: everything ContainerEnvironment needs besides the session's options. */
export interface ContainerPlan {
  readonly runtime: ContainerRuntime
  readonly image?: string
  /** The project's Dockerfile to build the image from (an engine runtime, trusted workspace). */
  readonly build?: ImageBuild
  /** Why there is no container yet: its image is built from a Dockerfile that waits for trust. */
  readonly untrustedBuild?: string
  readonly rootfs?: string
  readonly user?: string
  readonly workspaceFolder?: string
  readonly containerEnv: Readonly<Record<string, string>>
  readonly mounts: readonly ContainerMount[]
  readonly postCreate?: { readonly commands: readonly Command[]; readonly source: string }
  /** What the project file asks that waits for trust (for trust.skip), when not trusted. */
  readonly held: readonly string[]
  /** Fields read and not acted on (a log line each). */
  readonly notes: readonly string[]
}

export interface ContainerContext {
  readonly projectDir: string
  readonly tauHome: string
  readonly trusted: boolean
  /** Runtimes made so far, kept for the plugin's life (a docker runtime removes leftovers once). */
  readonly runtimes: Map<string, ContainerRuntime>
  /** bwrap's probe cache file. */
  readonly cacheFile?: string
}

function fail(message: string): never {
  throw new TauError(SANDBOX_ERRORS.TAU_SANDBOX_CONTAINER, message, { plugin: 'sandbox' })
}

/** An executable on PATH, or undefined. */
export function onPath(name: string, path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export function planContainer(config: SandboxConfig, context: ContainerContext): ContainerPlan {
  const c = config.container
  const projectDir = realPathSyncOf(context.projectDir)
  let file: string | undefined
  if (c.devcontainer === false) file = undefined
  else if (c.devcontainer !== undefined) {
    file = absoluteFrom(projectDir, c.devcontainer)
    if (!existsSync(file))
      fail(`sandbox.container.devcontainer: '${c.devcontainer}' does not exist (${file})`)
  } else file = findDevcontainer(projectDir)
  const dc: Devcontainer | undefined = file
    ? readDevcontainer(file, { workspace: projectDir, projectDir })
    : undefined
  const shown = file ? relative(projectDir, file) || file : ''

  const rootfs = c.rootfs === undefined ? undefined : realPathSyncOf(absoluteFrom(projectDir, c.rootfs))
  const image = c.image ?? dc?.image
  // The Dockerfile counts as what the container is made from, trusted or not: whether it may be
  // built is decided below, once the runtime is known.
  const wantsBuild = image === undefined && dc?.build !== undefined
  const made = image
    ? `the image '${image}'`
    : wantsBuild
      ? `the image built from ${relative(projectDir, dc.build?.dockerfile ?? '')}`
      : undefined
  const runtime = chooseRuntime(config, rootfs, made, context)
  const engine = runtime instanceof DockerCliRuntime

  const denied = [...defaultDenyRead(homedir(), context.tauHome), ...config.filesystem.denyRead].map((p) =>
    absoluteFrom(projectDir, p),
  )
  const checkMount = (field: string, mount: ContainerMount): ContainerMount => {
    const absolute = absoluteFrom(projectDir, mount.source)
    if (!existsSync(absolute))
      fail(`${field}.source: '${mount.source}' does not exist on the host (${absolute})`)
    const source = realPathSyncOf(absolute)
    const rule = denied.find((d) => insideRoots(source, [existsSync(d) ? realPathSyncOf(d) : d]))
    if (rule)
      fail(
        `${field}.source: '${mount.source}' is under '${rule}', which no tool may read (credentials, tau's own state, filesystem.denyRead): mount something else`,
      )
    if (insideRoots(mount.target, [projectDir]) || insideRoots(projectDir, [mount.target]))
      fail(
        `${field}.target: '${mount.target}' overlaps the workspace (${projectDir}), which the container has at its own path: mount it elsewhere`,
      )
    return { ...mount, source }
  }
  const mounts = c.mounts.map((m, i) => checkMount(`sandbox.container.mounts[${i}]`, m))
  const held: string[] = []
  if (dc && dc.mounts.length > 0) {
    if (context.trusted) mounts.push(...dc.mounts.map((m, i) => checkMount(`${shown}: mounts[${i}]`, m)))
    else held.push(`the container mounts of ${shown} (${dc.mounts.map((m) => m.target).join(', ')})`)
  }
  let postCreate: ContainerPlan['postCreate']
  if (dc && dc.postCreateCommand.length > 0) {
    if (context.trusted) postCreate = { commands: dc.postCreateCommand, source: shown }
    else held.push(`the postCreateCommand of ${shown}`)
  }
  const notes = [...(dc?.notes ?? [])]
  let build: ImageBuild | undefined
  let untrustedBuild: string | undefined
  if (dc?.build && !wantsBuild)
    notes.push(`${shown}: build: not used: sandbox.container.image ('${image}') is given`)
  else if (dc?.build && !engine)
    notes.push(`${shown}: build: not used: the rootfs runtime runs sandbox.container.rootfs`)
  else if (dc?.build) {
    // Building runs the Dockerfile's RUN lines in the engine: the project's code.
    if (context.trusted) build = dc.build
    else {
      const dockerfile = relative(projectDir, dc.build.dockerfile)
      held.push(`the image build of ${shown} (${dockerfile})`)
      untrustedBuild = `${shown}: build: the container's image is built from ${dockerfile}, and building runs its commands, so it waits until the workspace is trusted: trust it (tau trust, or --trust), or set sandbox.container.image to an image that is already built`
    }
  }
  let workspaceFolder: string | undefined
  if (dc?.workspaceFolder !== undefined) {
    if (insideRoots(dc.workspaceFolder, [projectDir])) workspaceFolder = dc.workspaceFolder
    else
      notes.push(
        `${shown}: workspaceFolder '${dc.workspaceFolder}' is not used: tau mounts the workspace at its own path (${projectDir}), so paths mean the same inside the container and out`,
      )
  }
  const user = c.user ?? dc?.user
  return {
    runtime,
    ...(image ? { image } : {}),
    ...(build ? { build } : {}),
    ...(untrustedBuild ? { untrustedBuild } : {}),
    ...(rootfs ? { rootfs } : {}),
    ...(user ? { user } : {}),
    ...(workspaceFolder ? { workspaceFolder } : {}),
    containerEnv: { ...dc?.containerEnv, ...c.containerEnv },
    mounts,
    ...(postCreate ? { postCreate } : {}),
    held,
    notes,
  }
}

function chooseRuntime(
  config: SandboxConfig,
  rootfs: string | undefined,
  /** What an engine would run: "the image 'x'" or "the image built from Dockerfile". */
  image: string | undefined,
  context: ContainerContext,
): ContainerRuntime {
  const wanted = config.container.runtime
  const kind = wanted === 'auto' ? (rootfs ? 'rootfs' : undefined) : wanted
  if (kind === 'rootfs') {
    if (!rootfs)
      fail(
        "sandbox.container.runtime 'rootfs' needs sandbox.container.rootfs: a root filesystem directory (an unpacked image) to run under bubblewrap",
      )
    if (!existsSync(rootfs) || !statSync(rootfs).isDirectory())
      fail(`sandbox.container.rootfs: '${config.container.rootfs}' is not a directory (${rootfs})`)
    if (!existsSync(join(rootfs, 'bin', 'sh')) && !existsSync(join(rootfs, 'usr', 'bin', 'sh')))
      fail(`sandbox.container.rootfs: '${rootfs}' has no /bin/sh, which every command runs through`)
    const status = bwrapStatus(context.cacheFile ? { cacheFile: context.cacheFile } : {})
    if (!status.available) {
      throw new TauError(
        SANDBOX_ERRORS.TAU_SANDBOX_UNAVAILABLE,
        `the rootfs container runtime runs under bubblewrap, which is not available: ${status.reason}`,
        { plugin: 'sandbox' },
      )
    }
    let runtime = context.runtimes.get('rootfs')
    if (!runtime) {
      runtime = new BwrapRootfsRuntime(status.path)
      context.runtimes.set('rootfs', runtime)
    }
    return runtime
  }
  if (!image)
    fail(
      'sandbox.mode is container but nothing says what the container is: set sandbox.container.image (or "image" in .devcontainer/devcontainer.json) for docker or podman, or sandbox.container.rootfs (a root filesystem directory) for the bubblewrap runtime',
    )
  const clis = kind ? [kind] : ['docker', 'podman']
  for (const name of clis) {
    const cli = onPath(name)
    if (!cli) continue
    let runtime = context.runtimes.get(cli)
    if (!runtime) {
      runtime = new DockerCliRuntime(cli, name)
      context.runtimes.set(cli, runtime)
    }
    return runtime
  }
  return fail(
    `sandbox.container: ${image} needs a container engine, and ${clis.join(' or ')} is not on PATH: install one, or give sandbox.container.rootfs (a root filesystem directory) to run the container under bubblewrap`,
  )
}
