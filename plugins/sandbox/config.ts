/** The `sandbox` config slice. */
import { z } from 'zod'
import { lazySchema } from '../../kernel/index.js'
import { filesystemPolicySchema, networkPolicySchema } from './policy.js'

// Everything here is made on first use: the bundled command takes an absent slice's defaults
// from the build (kernel/lazy-schema.ts), so a start without a `sandbox` slice builds none of it.
const mount = () =>
  z.strictObject({
    /** A host path: absolute, `~/...`, or relative to the project directory. */
    source: z.string().min(1),
    /** The absolute path inside the container. */
    target: z.string().regex(/^\//, 'an absolute path inside the container'),
    readonly: z.boolean().default(false),
  })

const containerConfig = () =>
  z.strictObject({
    /**
     * What runs it: `rootfs` (a root filesystem directory under bubblewrap), `docker`, `podman`;
     * `auto`: `rootfs` when one is given, else docker or podman, whichever is on PATH.
     */
    runtime: z.enum(['auto', 'rootfs', 'docker', 'podman']).default('auto'),
    /** An image, for docker or podman (devcontainer.json `image`). */
    image: z.string().min(1).optional(),
    /** A root filesystem directory for the bubblewrap runtime: absolute, `~/...`, or relative to the project directory. */
    rootfs: z.string().min(1).optional(),
    /** Host paths mounted into the container (besides the workspace, always at its own path). */
    mounts: z.array(mount()).default([]),
    /** Variables every process in the container gets. */
    containerEnv: z.record(z.string(), z.string()).default({}),
    /** The user commands run as: a name from the container's /etc/passwd, or uid[:gid]. */
    user: z.string().min(1).optional(),
    /**
     * devcontainer.json to read (relative to the project directory), or `false` for none. Default:
     * `.devcontainer/devcontainer.json`, else `.devcontainer.json`, when there is one.
     */
    devcontainer: z.union([z.literal(false), z.string().min(1)]).optional(),
  })

const envName = () =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'a variable name, or a prefix ending in * (e.g. AWS_*)')

export const sandboxConfig = lazySchema('sandbox', () =>
  z.strictObject({
    /**
     * More workspace roots besides each session's working directory: absolute, `~/...`, or
     * relative to the project directory (`'.'` adds the project directory itself).
     */
    roots: z.array(z.string().min(1)).default([]),
    env: z
      .strictObject({
        /** Variable names or prefixes (`AWS_*`) subprocesses may get on top of the default allowlist. */
        allow: z.array(envName()).default([]),
        /** Fixed values every subprocess gets. */
        set: z.record(z.string(), z.string()).default({}),
      })
      .prefault({}),
    /** How long a process group gets between SIGTERM and SIGKILL when a command is ended. */
    killGraceMs: z.number().int().min(0).max(60_000).default(2_000),
    /**
     * Where tool processes run: `auto` (bubblewrap where it works, else the local machine, said
     * once), `bwrap` (bubblewrap or an error), `off` (the local machine, unconfined processes),
     * `container` (one container per session: `container` below, and .devcontainer/devcontainer.json).
     */
    mode: z.enum(['auto', 'bwrap', 'off', 'container']).default('auto'),
    /** With `mode: 'container'`: what the container is; wins over devcontainer.json field by field. */
    container: containerConfig().prefault({}),
    /** With `auto`: an error instead of falling back to the local machine when bubblewrap is missing. */
    failIfUnavailable: z.boolean().default(false),
    /** Paths processes may write besides the workspace, and paths no tool may write or read. */
    filesystem: filesystemPolicySchema().prefault({}),
    /** Network for tool processes under bubblewrap: `none` (default), `allowlist`, `full`. */
    network: networkPolicySchema().prefault({}),
  }),
)

export type SandboxConfig = z.infer<typeof sandboxConfig>
