/**
 * The extension point for an interactive frontend: `tau start` without a prompt and with a TTY
 * on stdin runs the `headless.interactive` service when a plugin (the terminal) provides it.
 */
import { defineService, type FrontendRunContext } from '../../kernel/index.js'
import type { HeadlessArgs } from './args.js'

export interface InteractiveRunContext extends FrontendRunContext {
  /** The parsed `tau start` arguments (model, permission mode, rules, cwd, resume ...). */
  readonly args: HeadlessArgs
}

export interface InteractiveRunner {
  /** Runs the interactive session until the user leaves; returns the exit code. */
  run(context: InteractiveRunContext): Promise<number>
}

export const interactiveRunnerRef = defineService<InteractiveRunner>('headless.interactive', {
  description: '`tau start` with no prompt on a terminal: the interactive session (the terminal plugin).',
})
