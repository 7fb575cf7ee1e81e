/** The `agent` plugin: declares the agent hooks and provides `agent.runtime`. */
import {
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  definePlugin,
  SyncHook,
} from '../../kernel/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { createToolState, toolRegistryRef } from '../tools/index.js'
import { agentConfig } from './config.js'
import { type AgentHooks, agentHooksRef } from './hooks.js'
import type { AgentRuntime } from './runtime.js'
import { agentRuntimeRef } from './runtime.js'
import { AgentSessionImpl, type ScopeOpener } from './session.js'

export default definePlugin({
  name: 'agent',
  description: 'The agentic loop: model calls, tool calls, permissions, hooks, one event stream',
  dependsOn: ['providers', 'tools'],
  optionalDependsOn: ['permissions', 'sandbox'],
  config: agentConfig,
  setup(ctx) {
    const hooks = ctx.declareHooks<AgentHooks>(agentHooksRef, {
      // A SyncHook: fired per event (text deltas included), so the loop never waits on an observer.
      event: new SyncHook(['event']),
      runStart: new AsyncSeriesHook(['context']),
      runEnd: new AsyncSeriesHook(['context']),
      modelCallFailed: new AsyncSeriesHook(['failure']),
      record: new AsyncSeriesHook(['log']),
      sessionStart: new AsyncSeriesHook(['context']),
      userPromptSubmit: new AsyncSeriesWaterfallHook(['submission']),
      systemPrompt: new AsyncSeriesWaterfallHook(['prompt']),
      beforeModelCall: new AsyncSeriesWaterfallHook(['call']),
      afterModelCall: new AsyncSeriesHook(['result']),
      preToolUse: new AsyncSeriesBailHook(['call']),
      postToolUse: new AsyncSeriesWaterfallHook(['result']),
      postToolUseFailure: new AsyncSeriesHook(['failure']),
      stop: new AsyncSeriesBailHook(['context']),
      preCompact: new AsyncSeriesWaterfallHook(['context']),
      compact: new AsyncSeriesBailHook(['request']),
      messageAppended: new AsyncSeriesHook(['appended']),
      sessionEnd: new AsyncSeriesHook(['context']),
      notification: new AsyncSeriesHook(['context']),
    })
    const providers = ctx.resolve(providerRegistryRef)
    const tools = ctx.resolve(toolRegistryRef)
    const open = new Set<AgentSessionImpl>()
    const rootModel = typeof ctx.rootConfig.model === 'string' ? ctx.rootConfig.model : undefined
    // Each agent session without a `scope` of its own opens its kernel scope through the context.
    const openScope: ScopeOpener = (options) => ctx.createSession(options)
    let toolsVersion = 0
    const stopWatching = tools.onChange(() => {
      toolsVersion++
    })
    const runtime: AgentRuntime = {
      createSession(options = {}) {
        const session = new AgentSessionImpl(
          {
            config: ctx.config,
            hooks,
            providers,
            tools,
            logger: ctx.logger,
            kernelSignal: ctx.signal,
            defaultCwd: ctx.paths.cwd,
            defaultModel: rootModel,
            configFile: ctx.paths.configFile,
            openScope,
            createToolState,
            toolsVersion: () => toolsVersion,
            onClose: (closed) => open.delete(closed),
          },
          options,
        )
        open.add(session)
        return session
      },
      sessions: () => [...open],
    }
    ctx.provide(agentRuntimeRef, runtime)
    // At stop: running runs are already aborted (ctx.signal); wait for them to end cleanly and
    // fire sessionEnd for every open session.
    return async () => {
      stopWatching()
      await Promise.all([...open].map((session) => session.close('stop')))
    }
  },
})
