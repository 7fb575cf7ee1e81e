/**
 * The `orchestrate` plugin: a hub of named agents (each run as its own session), workflows built
 * from combinators (chain with gates, route, parallel, vote, orchestrate, refine) that all yield
 * the one event stream and nest, a typed state per workflow, a checkpoint at every step boundary
 * in the workflow's log (a killed run resumes from the last completed step), budgets over the
 * whole run, and `tau workflow run|resume|list|show`. See README.md and docs/orchestrate.md.
 */
import { join } from 'node:path'
import {
  AsyncSeriesHook,
  cliCommandsRef,
  definePlugin,
  type JsonSchema,
  TauError,
} from '../../kernel/index.js'
import { agentHooksRef, agentRuntimeRef, gitFacts } from '../agent/index.js'
import { projectKey, sessionServiceRef } from '../session/index.js'
import { definitionOf, missingPlugins, subagentCatalogRef } from '../subagents/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { workflowCommands } from './commands.js'
import { orchestrateConfig } from './config.js'
import { type StepRunnerFactory, WorkflowEngine } from './engine.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import { GitSnapshots } from './git-snapshots.js'
import { type OrchestrateHooks, orchestrateHooksRef } from './hooks.js'
import { Hub, type HubAgent } from './hub.js'
import { WorkflowStore } from './log.js'
import { type Orchestrator, orchestratorRef } from './service.js'
import { isWorkflow } from './workflow.js'
import { findWorkflows, pick, type WorkflowCatalog } from './workflows.js'

export {
  type EnvironmentSettings,
  environmentSettings,
  type OrchestrateConfig,
  orchestrateConfig,
} from './config.js'
export type { StartOptions, StepRunnerFactory, WorkflowOutcome, WorkflowRun } from './engine.js'
export { ORCHESTRATE_ERRORS } from './errors.js'
export * from './hooks.js'
export { Hub, type HubAgent, parseStructured, structuredInstruction } from './hub.js'
export {
  type Durability as WorkflowDurability,
  parseLog,
  type WorkflowLog,
  type WorkflowRecord,
  type WorkflowRecordBody,
  type WorkflowRunSummary,
  WorkflowStore,
  type WorkflowStoreOptions,
} from './log.js'
export {
  type AgentStep,
  type AgentStepOptions,
  agent,
  type FailurePolicy,
  majority,
  type OrchestrateOptions,
  orchestrate,
  type ParallelOptions,
  type ParallelResult,
  type Plan,
  parallel,
  planSchema,
  type RefineInput,
  type RefineOptions,
  type RefineResult,
  type RouteOptions,
  refine,
  route,
  type Verdict,
  type VoteOptions,
  verdictSchema,
  vote,
  type WorkerReport,
} from './patterns.js'
export { type Orchestrator, orchestratorRef } from './service.js'
export {
  CheckpointRunner,
  type Checkpoints,
  checkpointsOf,
  type StepBoundary,
  type StepExecution,
  type StepKind,
  type StepOutcome,
  type StepRun,
  type StepRunner,
} from './step-runner.js'
export {
  type AgentRunRequest,
  type AgentRunResult,
  chain,
  defineWorkflow,
  GateError,
  gate,
  type InlineAgent,
  isStep,
  isWorkflow,
  makeStep,
  type Schema,
  type Step,
  type StepContext,
  step,
  type Workflow,
  type WorkflowBudget,
  type WorkflowDefinition,
  type WorkflowEvent,
  type WorkflowOwnEvent,
} from './workflow.js'
export type { FoundWorkflow, WorkflowCatalog } from './workflows.js'

export default definePlugin({
  name: 'orchestrate',
  description:
    'A hub of named agents, workflows (chain, route, parallel, vote, orchestrate, refine), state, checkpoints, `tau workflow`',
  dependsOn: ['agent', 'tools'],
  optionalDependsOn: ['subagents', 'session', 'permissions'],
  config: orchestrateConfig,
  setup(ctx) {
    const hooks = ctx.declareHooks<OrchestrateHooks>(orchestrateHooksRef, {
      workflowStart: new AsyncSeriesHook(['context']),
      workflowEnd: new AsyncSeriesHook(['context']),
      stepStart: new AsyncSeriesHook(['context']),
      stepEnd: new AsyncSeriesHook(['context']),
      stepSession: new AsyncSeriesHook(['context']),
    })
    const prompts = new Map<string, string>()
    const schemas = new Map<string, JsonSchema>()
    const agentHooks = ctx.hooksOf(agentHooksRef)
    // Structured steps ask the provider for JSON too, where it can constrain its answer.
    agentHooks.beforeModelCall.tapPromise(async (call) => {
      const schema = schemas.get(call.sessionId)
      return schema
        ? { ...call, request: { ...call.request, responseFormat: { type: 'json', schema } } }
        : call
    })
    agentHooks.systemPrompt.tap((prompt) => {
      const text = prompts.get(prompt.sessionId)
      return text ? { ...prompt, sections: [...prompt.sections, { id: 'workflow-agent', text }] } : prompt
    })
    const environments = ctx.config.environments
    // Names were checked at config load (the schema's refinement), so the lookup finds one.
    const fromConfig: HubAgent[] = Object.entries(ctx.config.agents).map(([name, a]) =>
      definitionOf(name, a, 'orchestrate', environments),
    )
    // An environment whose plugin is not loaded fails now, not at the agent's first session.
    const unloaded = [
      ...Object.entries(environments).map(([name, e]) => [`orchestrate.environments.${name}`, e] as const),
      ...fromConfig.flatMap((a) =>
        a.environment && !a.environmentName
          ? [[`orchestrate.agents.${a.name}.environment`, a.environment] as const]
          : [],
      ),
    ].flatMap(([where, environment]) => {
      const missing = missingPlugins(environment, ctx.rootConfig)
      return missing.length > 0 ? [`${where}: ${missing.join(', ')}`] : []
    })
    if (unloaded.length > 0) {
      throw new TauError(
        'TAU_CONFIG_INVALID',
        unloaded.length === 1
          ? `${unloaded[0]}: not loaded, so no session could run in this environment`
          : `${unloaded.length} environments set keys of plugins that are not loaded`,
        {
          plugin: 'orchestrate',
          hint: 'Add the plugin named (to the preset or plugins), or drop the key from the environment.',
          ...(unloaded.length > 1 ? { details: unloaded } : {}),
        },
      )
    }
    // One catalogue: the hub's agents join the subagents catalogue (first), so Task starts them too.
    const subagents = ctx.tryResolve(subagentCatalogRef)
    if (subagents && fromConfig.length > 0) subagents.define(fromConfig)
    const agents = (): readonly HubAgent[] => subagents?.list() ?? fromConfig
    const allEnvironments = () => ({ ...subagents?.environments(), ...environments })
    const agentConfig = ctx.rootConfig.agent as { model?: unknown } | undefined
    const rootModel =
      typeof agentConfig?.model === 'string'
        ? agentConfig.model
        : typeof ctx.rootConfig.model === 'string'
          ? ctx.rootConfig.model
          : undefined
    const hub = new Hub({
      agents,
      runtime: () => ctx.resolve(agentRuntimeRef),
      registry: ctx.resolve(toolRegistryRef),
      sessions: () => ctx.tryResolve(sessionServiceRef),
      openScope: (options) => ctx.createSession(options),
      environments: allEnvironments,
      prompts,
      schemas,
      defaultModel: () => rootModel,
      defaultPermissionMode: ctx.config.permissionMode,
      git: new GitSnapshots(gitFacts),
    })
    const store = new WorkflowStore(
      join(ctx.paths.tauHome, 'projects', projectKey(ctx.paths.projectDir), 'workflows'),
      { durability: ctx.config.durability },
    )
    let catalog: Promise<WorkflowCatalog> | undefined
    const loadCatalog = (): Promise<WorkflowCatalog> => {
      catalog ??= findWorkflows({
        fromConfig: ctx.config.workflows,
        dir: join(ctx.paths.projectDir, '.tau', 'workflows'),
        tauHome: ctx.paths.tauHome,
      }).then((found) => {
        for (const problem of found.problems) ctx.logger.warn('workflow file skipped', { ...problem })
        return found
      })
      return catalog
    }
    let runnerFactory: StepRunnerFactory | undefined
    const engine = new WorkflowEngine({
      store,
      hub,
      hooks,
      logger: ctx.logger,
      cwd: ctx.paths.cwd,
      artefactsDir: ctx.config.artefactsDir,
      runnerFactory: () => runnerFactory,
      find: async (name) => pick(await loadCatalog(), name).workflow,
    })
    const orchestrator: Orchestrator = {
      hub,
      catalog: loadCatalog,
      async run(workflow, input, options = {}) {
        if (typeof workflow !== 'string') {
          if (!isWorkflow(workflow)) {
            throw new TauError(
              ORCHESTRATE_ERRORS.TAU_WORKFLOW_INVALID,
              'run() takes a workflow name or a defineWorkflow() value',
              {
                plugin: 'orchestrate',
              },
            )
          }
          return engine.start(workflow, input, options)
        }
        const found = pick(await loadCatalog(), workflow)
        return engine.start(found.workflow, input, {
          ...options,
          ...(found.source !== 'config' ? { file: found.source } : {}),
        })
      },
      resume: (runId, options) => engine.resume(runId, options),
      runs: () => store.list(),
      read: (runId) => store.read(runId),
      useStepRunner(factory) {
        runnerFactory = factory
        return () => {
          if (runnerFactory === factory) runnerFactory = undefined
        }
      },
    }
    ctx.provide(orchestratorRef, orchestrator)
    for (const command of workflowCommands(() => orchestrator)) ctx.provide(cliCommandsRef, command)
  },
})
