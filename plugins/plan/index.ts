/**
 * The `plan` plugin: plan mode's ExitPlanMode tool. In plan mode (the permissions plugin's
 * `plan` mode) only read-only tools run; the model explores, then calls ExitPlanMode with its
 * plan, which is saved under `.tau/plans/` and put to the user through the session's
 * UserInteraction (`approvePlan`); approved, the session goes on in the mode the user picked.
 * See README.md.
 */
import { definePlugin } from '../../kernel/index.js'
import { agentRuntimeRef } from '../agent/index.js'
import { type Tool, toolRegistryRef } from '../tools/index.js'
import { planConfig } from './config.js'
import { createExitPlanModeTool } from './exit-plan-mode.js'

export { type PlanConfig, planConfig } from './config.js'
export {
  approvalText,
  createExitPlanModeTool,
  type PlanDisplay,
  type SetMode,
  slugOf,
} from './exit-plan-mode.js'

export default definePlugin({
  name: 'plan',
  description: 'Plan mode: the ExitPlanMode tool saves the plan under .tau/plans for the user to approve',
  dependsOn: ['tools'],
  // Plan mode itself is the permissions plugin's; set up after it when it is there.
  optionalDependsOn: ['permissions', 'agent'],
  config: planConfig,
  setup(ctx) {
    const runtime = ctx.tryResolve(agentRuntimeRef)
    const tool = createExitPlanModeTool({
      projectDir: ctx.paths.projectDir,
      directory: ctx.config.directory,
      setMode: (sessionId, mode) => {
        const permissions = runtime?.sessions().find((s) => s.id === sessionId)?.permissions
        permissions?.setMode(mode)
        return permissions !== undefined
      },
    })
    // Tool<I> is contravariant in I; the registry validates the input before execute().
    return ctx.resolve(toolRegistryRef).register(tool as unknown as Tool, ctx.name)
  },
})
