/**
 * `acp`: tau inside editors. `tau acp` speaks the Agent Client Protocol on stdin/stdout (Zed,
 * JetBrains and other ACP clients start it), one more frontend over the SessionController: the
 * editor's prompts, tool calls, permission questions, modes, plans and commands, with file
 * reads and writes through the editor's buffers and Bash in its terminals when it offers them.
 * The SDK loads only when `tau acp` runs. See README.md and docs/editors.md.
 */
import { cliCommandsRef, definePlugin, tauVersion } from '../../kernel/index.js'
import { mcpServersRef } from '../mcp/index.js'
import { sessionServiceRef } from '../session/index.js'
import { sessionControllersRef } from '../session-controller/index.js'
import { type AcpConfig, acpConfig } from './config.js'

export { type AcpConfig, acpConfig } from './config.js'
export { ACP_ERRORS } from './errors.js'

export default definePlugin({
  name: 'acp',
  description: 'tau acp: an Agent Client Protocol agent on stdio, for Zed, JetBrains and other editors',
  dependsOn: ['agent', 'session-controller'],
  optionalDependsOn: ['session', 'permissions', 'slash-commands', 'sandbox', 'mcp', 'memory'],
  config: acpConfig,
  setup(ctx) {
    const config: AcpConfig = ctx.config
    ctx.provide(cliCommandsRef, {
      name: 'acp',
      description:
        'run as an Agent Client Protocol agent on stdin/stdout (an editor starts it: see docs/editors.md)',
      needs: 'start',
      async run(context) {
        if ((context.stdin as { isTTY?: boolean }).isTTY === true)
          context.stderr.write(
            'tau acp: speaking the Agent Client Protocol on stdin/stdout; an editor starts this command (see docs/editors.md). Ctrl-C to stop.\n',
          )
        const { serveAcp } = await import('./acp-server.js')
        return serveAcp({
          controllers: ctx.resolve(sessionControllersRef),
          sessions: ctx.tryResolve(sessionServiceRef),
          config,
          logger: ctx.logger,
          version: tauVersion(),
          stdin: context.stdin,
          stdout: context.stdout,
          signal: context.signal,
          mcp: ctx.tryResolve(mcpServersRef) !== undefined,
        })
      },
    })
  },
})
