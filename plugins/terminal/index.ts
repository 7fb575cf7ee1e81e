/**
 * `terminal`: the interactive session of `tau start` (no prompt, stdin a TTY). Provides the
 * headless plugin's `headless.interactive` extension point; headless stays the one frontend.
 */
import { resolve as resolvePath } from 'node:path'
import { definePlugin } from '../../kernel/index.js'
import { type AgentSessionOptions, agentRuntimeRef } from '../agent/index.js'
import { type InteractiveRunContext, interactiveRunnerRef } from '../headless/index.js'
import { memoryServiceRef } from '../memory/index.js'
import { sessionServiceRef } from '../session/index.js'
import { slashCommandsRef } from '../slash-commands/index.js'

export type { TerminalOptions } from './ui.js'

export default definePlugin({
  name: 'terminal',
  description:
    'The interactive terminal of `tau start`: streaming, tool calls, permission prompts, slash commands',
  dependsOn: ['agent'],
  optionalDependsOn: ['session', 'memory', 'slash-commands', 'headless'],
  setup(ctx) {
    const runtime = ctx.resolve(agentRuntimeRef)
    async function run(context: InteractiveRunContext): Promise<number> {
      const args = context.args
      let resumed: AgentSessionOptions | undefined
      if (args.continue === true || args.resume !== undefined) {
        const sessions = ctx.tryResolve(sessionServiceRef)
        if (!sessions) {
          context.stderr.write('tau: --continue and --resume need the session plugin, which is not loaded\n')
          return 2
        }
        try {
          const plan = await sessions.resume(args.resume ?? 'latest', { fork: args.forkSession === true })
          for (const warning of plan.warnings) context.stderr.write(`tau: warning: ${warning}\n`)
          resumed = plan.options
        } catch (error) {
          context.stderr.write(`tau: ${error instanceof Error ? error.message : String(error)}\n`)
          return 1
        }
      }
      const sessionOptions: AgentSessionOptions = {
        ...(resumed ?? {}),
        cwd: args.cwd === undefined ? (resumed?.cwd ?? ctx.paths.cwd) : resolvePath(ctx.paths.cwd, args.cwd),
        ...(args.model !== undefined ? { model: args.model } : {}),
        ...(args.permissionMode !== undefined ? { permissionMode: args.permissionMode } : {}),
        allowedTools: args.allowedTools,
        disallowedTools: args.disallowedTools,
      }
      const sessions = ctx.tryResolve(sessionServiceRef)
      const memory = ctx.tryResolve(memoryServiceRef)
      const slashCommands = ctx.tryResolve(slashCommandsRef)
      // The terminal's modules (and string-width) load only when a person opens one.
      const { TerminalSession } = await import('./ui.js')
      const terminal = new TerminalSession(
        {
          runtime,
          projectDir: ctx.paths.projectDir,
          tauHome: ctx.paths.tauHome,
          // NO_COLOR: the kernel's env (an embedder's own, or process.env for the tau command).
          env: ctx.env,
          sessionOptions,
          ...(sessions ? { sessions } : {}),
          ...(memory ? { memory } : {}),
          ...(slashCommands ? { slashCommands } : {}),
        },
        context,
      )
      return terminal.run()
    }
    ctx.provide(interactiveRunnerRef, { run })
  },
})
