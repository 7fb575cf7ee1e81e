/** The `orchestrate` config slice. */
import { z } from 'zod'
import { sandboxConfig } from '../sandbox/index.js'
import { AGENT_NAME, agentDefinitionConfig } from '../subagents/index.js'
import { isWorkflow, type Workflow } from './workflow.js'

const permissionMode = z.enum(['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk'])

const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

/**
 * Checked by the sandbox's own schema, but kept as written: these are per-session settings the
 * kernel merges over the global `sandbox` slice, so the schema's defaults must not be filled in
 * (they would override what the global config sets).
 */
const sandboxSettings = z.unknown().superRefine((value, ctx) => {
  const checked = sandboxConfig.safeParse(value)
  if (checked.success) return
  for (const issue of checked.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] })
  }
})

/** Where an agent's tools run: its sessions' own settings, keyed by plugin config key. */
export const environmentSettings = z.strictObject({
  /** The sandbox config shape (mode, filesystem, network, env, roots), over the global `sandbox`. */
  sandbox: sandboxSettings.optional(),
})
export type EnvironmentSettings = z.infer<typeof environmentSettings>

/** A named environment (`orchestrate.environments`) or one written in place. */
const agentEnvironment = z.union([
  z.string().regex(ENVIRONMENT_NAME, 'an environment name from orchestrate.environments'),
  environmentSettings,
])

export const orchestrateConfig = z
  .strictObject({
    /**
     * Hub agents by name: the subagents' definition (description, tools, model, prompt) plus the
     * permission mode their sessions run in. They win over `subagents.agents` and agent files.
     */
    agents: z
      .record(
        z.string().regex(AGENT_NAME),
        agentDefinitionConfig.extend({
          permissionMode: permissionMode.optional(),
          /**
           * Where its tools run: `{ sandbox: {...} }` (merged over the global `sandbox` config) or
           * the name of one of `environments`. Default: the global environment.
           */
          environment: agentEnvironment.optional(),
        }),
      )
      .default({}),
    /** Named environments hub agents refer to by name: `{ locked: { sandbox: { mode: 'bwrap' } } }`. */
    environments: z.record(z.string().regex(ENVIRONMENT_NAME), environmentSettings).default({}),
    /** Workflows defined in the config (defineWorkflow values); `.tau/workflows/*.ts` adds more. */
    workflows: z
      .array(z.custom<Workflow>(isWorkflow, { message: 'expected a defineWorkflow() value' }))
      .default([]),
    /** The permission mode of hub agents that set none (default: the permissions plugin's). */
    permissionMode: permissionMode.optional(),
    /**
     * When the workflow log reaches the disk (a kill or crash of tau never loses a written record
     * in any mode; this is about power loss and OS crashes): `step` (each step's end fdatasync'd,
     * overlapped with the next step; the run's end waits for it), `sync` (the run waits for each
     * step's end to be on disk before going on), `off` (the OS writes back when it likes).
     */
    durability: z.enum(['step', 'sync', 'off']).default('step'),
    /** Where agents' artefacts are written, relative to the workspace. */
    artefactsDir: z.string().min(1).default('.tau/artefacts'),
  })
  .superRefine((config, ctx) => {
    // A name must be one of `environments`: checked here so a typo fails at config load.
    for (const [name, agent] of Object.entries(config.agents)) {
      const environment = agent.environment
      if (typeof environment !== 'string' || Object.hasOwn(config.environments, environment)) continue
      const known = Object.keys(config.environments)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'environment'],
        message: `the agent '${name}' names the environment '${environment}', which orchestrate.environments does not define (${known.length > 0 ? `it defines: ${known.join(', ')}` : 'it defines none'})`,
      })
    }
  })
export type OrchestrateConfig = z.infer<typeof orchestrateConfig>
