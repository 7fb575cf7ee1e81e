/** The `orchestrate` config slice. */
import { z } from 'zod'
import { AGENT_NAME, agentDefinitionConfig } from '../subagents/index.js'
import { isWorkflow, type Workflow } from './workflow.js'

const permissionMode = z.enum(['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk'])

export const orchestrateConfig = z.strictObject({
  /**
   * Hub agents by name: the subagents' definition (description, tools, model, prompt) plus the
   * permission mode their sessions run in. They win over `subagents.agents` and agent files.
   */
  agents: z
    .record(
      z.string().regex(AGENT_NAME),
      agentDefinitionConfig.extend({ permissionMode: permissionMode.optional() }),
    )
    .default({}),
  /** Workflows defined in the config (defineWorkflow values); `.tau/workflows/*.ts` adds more. */
  workflows: z
    .array(z.custom<Workflow>(isWorkflow, { message: 'expected a defineWorkflow() value' }))
    .default([]),
  /** The permission mode of hub agents that set none (default: the permissions plugin's). */
  permissionMode: permissionMode.optional(),
  /**
   * When the workflow log reaches the disk: `step` (fdatasync'd at every step's end, so a power
   * loss never loses a completed step) or `off` (written before the run goes on, which a kill or
   * crash of tau never loses; the OS writes it back when it likes).
   */
  durability: z.enum(['step', 'off']).default('step'),
  /** Where agents' artefacts are written, relative to the workspace. */
  artefactsDir: z.string().min(1).default('.tau/artefacts'),
})
export type OrchestrateConfig = z.infer<typeof orchestrateConfig>
