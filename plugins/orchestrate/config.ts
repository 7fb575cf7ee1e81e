/** The `orchestrate` config slice. */
import { z } from 'zod'
import {
  AGENT_NAME,
  agentDefinitionConfig,
  environmentTable,
  unknownEnvironment,
} from '../subagents/index.js'
import { isWorkflow, type Workflow } from './workflow.js'

export { type EnvironmentSettings, environmentSettings } from '../subagents/index.js'

const permissionMode = z.enum(['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk'])

export const orchestrateConfig = z
  .strictObject({
    /**
     * Hub agents by name: the subagents' definition (description, tools, model, prompt, permission
     * mode, environment). They join the subagents catalogue first (the Task tool starts them too)
     * and win over `subagents.agents` and agent files.
     */
    agents: z.record(z.string().regex(AGENT_NAME), agentDefinitionConfig).default({}),
    /** Named environments hub agents refer to by name: `{ locked: { sandbox: { mode: 'bwrap' } } }`. */
    environments: environmentTable.default({}),
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
      if (typeof agent.environment !== 'string') continue
      const why = unknownEnvironment(
        agent.environment,
        config.environments,
        `the agent '${name}'`,
        'orchestrate.environments',
      )
      if (why) ctx.addIssue({ code: 'custom', path: ['agents', name, 'environment'], message: why })
    }
  })
export type OrchestrateConfig = z.infer<typeof orchestrateConfig>
