/** The `slash-commands` config slice. */
import { z } from 'zod'

export const slashCommandsConfig = z.strictObject({
  /**
   * More folders of Markdown commands, relative to the project (or absolute), read after the
   * project's `.tau/commands` and `.claude/commands` and before `~/.tau/commands`.
   */
  directories: z.array(z.string().min(1)).default([]),
})

export type SlashCommandsConfig = z.infer<typeof slashCommandsConfig>
