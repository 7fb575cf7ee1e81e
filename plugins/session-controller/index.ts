/**
 * `session-controller`: the frontend-neutral session logic (SessionController: prompts and their
 * queue, abort, slash commands, `# text` memory, mode changes, /clear /model /resume, questions
 * answered by id) that the terminal, headless and the coming server and editor adapters share;
 * and the built-in session commands as a source of the slash-commands registry. See README.md.
 */
import { definePlugin, defineService } from '../../kernel/index.js'
import { agentRuntimeRef } from '../agent/index.js'
import { memoryServiceRef } from '../memory/index.js'
import { sessionServiceRef } from '../session/index.js'
import { slashCommandSourceRef, slashCommandsRef } from '../slash-commands/index.js'
import { builtinCommands } from './builtin-commands.js'
import { type ControllerFrontend, SessionController, type SessionControllerOptions } from './controller.js'

export { builtinCommands, type CommandHost } from './builtin-commands.js'
export {
  type ControllerFrontend,
  type Listener,
  SessionController,
  type SessionControllerOptions,
} from './controller.js'
export type { AnswerOf, ControllerEvent, PendingQuestion, Tone } from './events.js'
export { QuestionBoard } from './question-board.js'

/** Opens controllers over the kernel's services (the runtime, sessions, memory, commands). */
export interface SessionControllers {
  create(options: {
    readonly sessionOptions: SessionControllerOptions['sessionOptions']
    readonly frontend?: ControllerFrontend
    readonly runOptions?: SessionControllerOptions['runOptions']
    readonly helpExtra?: SessionControllerOptions['helpExtra']
  }): SessionController
}

export const sessionControllersRef = defineService<SessionControllers>('session-controller.factory', {
  description:
    'Opens a SessionController: the session logic a frontend (terminal, headless, server, editor) drives.',
})

export default definePlugin({
  name: 'session-controller',
  description:
    'The session logic every frontend shares, and the built-in session commands (/help, /clear, /compact ...)',
  dependsOn: ['agent'],
  optionalDependsOn: ['session', 'memory', 'slash-commands'],
  setup(ctx) {
    const commands = builtinCommands()
    ctx.provide(slashCommandSourceRef, {
      name: 'built-in',
      builtin: true,
      list: () => ({ commands, problems: [] }),
    })
    const runtime = ctx.resolve(agentRuntimeRef)
    ctx.provide(sessionControllersRef, {
      create: (options) => {
        const sessions = ctx.tryResolve(sessionServiceRef)
        const memory = ctx.tryResolve(memoryServiceRef)
        const slashCommands = ctx.tryResolve(slashCommandsRef)
        return new SessionController({
          runtime,
          ...options,
          ...(sessions ? { sessions } : {}),
          ...(memory ? { memory } : {}),
          ...(slashCommands ? { slashCommands } : {}),
        })
      },
    })
  },
})
