/** The `sandbox` config slice. */
import { z } from 'zod'

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
})

export type SandboxConfig = z.infer<typeof sandboxConfig>
