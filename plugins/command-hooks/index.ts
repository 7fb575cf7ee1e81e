/**
 * The `command-hooks` plugin: hooks declared as shell commands in the shape of Claude Code's
 * settings (`hooks: { PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command }] }] }`),
 * from tau.config.ts and the settings files, run on the agent's hooks. See README.md.
 */
import { definePlugin, STAGE } from '../../kernel/index.js'
import { agentHooksRef, agentRuntimeRef } from '../agent/index.js'
import { needsTrust, settingsOptions } from '../permissions/index.js'
import { buildProcessEnv, createEnvAllowlist, sandboxConfig } from '../sandbox/index.js'
import { sessionServiceRef } from '../session/index.js'
import { subagentCatalogRef, subagentHooksRef } from '../subagents/index.js'
import { trustOf } from '../trust/index.js'
import { commandHooksConfig } from './config.js'
import { CommandHookDispatcher } from './dispatch.js'
import { describe, loadHooks } from './settings.js'

export { type CommandHooksConfig, commandHooksConfig, HOOK_EVENTS, type HookEventName } from './config.js'
export { compileMatcher } from './matcher.js'
export { type CommandHookEntry, type LoadedHooks, loadHooks } from './settings.js'

export default definePlugin({
  name: 'command-hooks',
  description: 'Runs shell-command hooks from the config and the settings files (Claude Code hooks)',
  configKey: 'hooks',
  dependsOn: ['agent'],
  // session: transcript_path on stdin; subagents: SubagentStart.
  // trust: a project's own hooks wait for it.
  optionalDependsOn: ['session', 'subagents', 'trust'],
  config: commandHooksConfig,
  setup(ctx) {
    // Read here, synchronously: a malformed settings file stops tau before anything runs.
    const { entries: all, problems } = loadHooks(ctx.config, ctx.paths, settingsOptions(ctx.argv))
    for (const problem of problems) ctx.logger.warn(problem)
    if (all.length === 0) return
    // A project's own hooks run once the workspace is trusted (which may happen at start).
    const trust = trustOf(ctx)
    const gated = all.filter((entry) => needsTrust(entry.source.scope))
    const counts = new Map<string, number>()
    for (const entry of gated)
      counts.set(describe(entry.source), (counts.get(describe(entry.source)) ?? 0) + 1)
    for (const [file, count] of counts)
      trust.skip(`${count} command hook${count === 1 ? '' : 's'} of ${file}`)
    const open = all.filter((entry) => !needsTrust(entry.source.scope))

    // The sandbox's allowlist (and fixed values) for hook processes, whether or not it is loaded,
    // picked from the kernel's env (an embedder's own, or process.env for the tau command).
    const parsed = sandboxConfig.safeParse(ctx.rootConfig.sandbox ?? {})
    const sandbox = parsed.success ? parsed.data : sandboxConfig.parse({})
    const env = buildProcessEnv(ctx.env, createEnvAllowlist(sandbox.env.allow), {
      ...sandbox.env.set,
      CLAUDE_PROJECT_DIR: ctx.paths.projectDir,
      TAU_PROJECT_DIR: ctx.paths.projectDir,
    })
    const runtime = ctx.resolve(agentRuntimeRef)
    const sessions = ctx.tryResolve(sessionServiceRef)
    const dispatch = new CommandHookDispatcher({
      get entries() {
        return trust.trusted ? all : open
      },
      logger: ctx.logger,
      projectDir: ctx.paths.projectDir,
      defaultCwd: ctx.paths.cwd,
      env,
      killGraceMs: Math.min(sandbox.killGraceMs, 2_000),
      signal: ctx.signal,
      session: (id) => runtime.sessions().find((session) => session.id === id),
      transcriptPath: (id) => sessions?.transcriptPath(id),
    })
    ctx.logger.debug('command hooks loaded', { count: all.length })

    const hooks = ctx.hooksOf(agentHooksRef)
    const guard = { stage: STAGE.GUARD }
    // sessionStart is always tapped: it records each session's working directory for the others.
    hooks.sessionStart.tapPromise((c) => dispatch.sessionStart(c))
    hooks.runStart.tap((c) => dispatch.runStart(c.sessionId, c.runId))
    hooks.systemPrompt.tap((prompt) => dispatch.systemPrompt(prompt))
    if (dispatch.has('UserPromptSubmit')) {
      hooks.userPromptSubmit.tapPromise(guard, (s) => dispatch.userPromptSubmit(s))
    }
    if (dispatch.has('PreToolUse')) hooks.preToolUse.tapPromise(guard, (c) => dispatch.preToolUse(c))
    // postToolUse also carries PreToolUse's additionalContext to the result.
    if (dispatch.has('PostToolUse') || dispatch.has('PreToolUse')) {
      hooks.postToolUse.tapPromise((v) => dispatch.postToolUse(v))
    }
    if (dispatch.has('PostToolUseFailure') || dispatch.has('PreToolUse')) {
      hooks.postToolUseFailure.tapPromise((v) => dispatch.postToolUseFailure(v))
    }
    if (dispatch.has('Stop') || dispatch.has('SubagentStop')) hooks.stop.tapPromise((c) => dispatch.stop(c))
    if (dispatch.has('PreCompact')) hooks.preCompact.tapPromise((c) => dispatch.preCompact(c))
    if (dispatch.has('Notification')) hooks.notification.tapPromise((c) => dispatch.notification(c))
    hooks.sessionEnd.tapPromise((c) => dispatch.sessionEnd(c))
    if (dispatch.has('SubagentStart')) {
      if (ctx.tryResolve(subagentCatalogRef)) {
        ctx.hooksOf(subagentHooksRef).subagentStart.tapPromise((s) => dispatch.subagentStart(s))
      } else ctx.logger.debug('SubagentStart hooks never run: the subagents plugin is not loaded')
    }
  },
})
