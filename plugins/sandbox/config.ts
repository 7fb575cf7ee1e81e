/** The `sandbox` config slice. */
import { z } from 'zod'
import { filesystemPolicySchema, networkPolicySchema } from './policy.js'

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'a variable name, or a prefix ending in * (e.g. AWS_*)')

export const sandboxConfig = z.strictObject({
  /**
   * More workspace roots besides each session's working directory: absolute, `~/...`, or
   * relative to the project directory (`'.'` adds the project directory itself).
   */
  roots: z.array(z.string().min(1)).default([]),
  env: z
    .strictObject({
      /** Variable names or prefixes (`AWS_*`) subprocesses may get on top of the default allowlist. */
      allow: z.array(envName).default([]),
      /** Fixed values every subprocess gets. */
      set: z.record(z.string(), z.string()).default({}),
    })
    .prefault({}),
  /** How long a process group gets between SIGTERM and SIGKILL when a command is ended. */
  killGraceMs: z.number().int().min(0).max(60_000).default(2_000),
  /**
   * Where tool processes run: `auto` (bubblewrap where it works, else the local machine, said
   * once), `bwrap` (bubblewrap or an error), `off` (the local machine, unconfined processes).
   */
  mode: z.enum(['auto', 'bwrap', 'off']).default('auto'),
  /** With `auto`: an error instead of falling back to the local machine when bubblewrap is missing. */
  failIfUnavailable: z.boolean().default(false),
  /** Paths processes may write besides the workspace, and paths no tool may write or read. */
  filesystem: filesystemPolicySchema.prefault({}),
  /** Network for tool processes under bubblewrap: `none` (default), `allowlist`, `full`. */
  network: networkPolicySchema.prefault({}),
})

export type SandboxConfig = z.infer<typeof sandboxConfig>
