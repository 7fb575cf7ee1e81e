/**
 * `slash-commands`: `/name arguments` expands into a prompt. Provides the registry
 * (`slash-commands.registry`) that frontends resolve lines through, and the extension point
 * (`slash-commands.sources`, many-valued) that other plugins add commands to; contributes the
 * Markdown command files itself. See README.md.
 */
import { isAbsolute, resolve } from 'node:path'
import { definePlugin } from '../../kernel/index.js'
import { slashCommandsConfig } from './config.js'
import { commandDirectories, loadCommandFiles } from './files.js'
import { createSlashCommands } from './registry.js'
import { slashCommandSourceRef, slashCommandsRef } from './types.js'

export { type SlashCommandsConfig, slashCommandsConfig } from './config.js'
export {
  type CommandDirectory,
  type CommandFile,
  commandDirectories,
  loadCommandFiles,
  parseCommandFile,
} from './files.js'
export { createSlashCommands } from './registry.js'
export { expandTemplate, parseSlash, splitArguments } from './template.js'
export * from './types.js'

export default definePlugin({
  name: 'slash-commands',
  description:
    'Slash commands: Markdown command files (.tau/commands, ~/.tau/commands) and other plugins’ commands',
  config: slashCommandsConfig,
  setup(ctx) {
    const { projectDir, tauHome } = ctx.paths
    const [project, claude, user] = commandDirectories(projectDir, tauHome)
    const directories = [
      project!,
      claude!,
      ...ctx.config.directories.map((dir) => ({
        dir: isAbsolute(dir) ? dir : resolve(projectDir, dir),
        scope: 'project',
      })),
      user!,
    ]
    ctx.provide(slashCommandSourceRef, { name: 'command files', list: () => loadCommandFiles(directories) })
    // Sources are read at every list(): plugins set up after this one add theirs too.
    ctx.provide(
      slashCommandsRef,
      createSlashCommands(() => ctx.tryResolve(slashCommandSourceRef) ?? []),
    )
  },
})
