/** The registry behind `slash-commands.registry`: every source's commands, first name wins. */
import { parseSlash } from './template.js'
import type {
  ExpandOptions,
  ListContext,
  ResolvedCommand,
  SlashCommand,
  SlashCommandList,
  SlashCommandSource,
  SlashCommands,
} from './types.js'

export function createSlashCommands(sources: () => readonly SlashCommandSource[]): SlashCommands {
  async function list(context?: ListContext): Promise<SlashCommandList> {
    const lists = await Promise.all(
      // Built-in sources first: their names win every clash.
      [...sources()]
        .sort((a, b) => Number(b.builtin === true) - Number(a.builtin === true))
        .map(async (source): Promise<[SlashCommandSource, SlashCommandList]> => {
          try {
            return [source, await source.list(context)]
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            return [
              source,
              { commands: [], problems: [`${source.name}: could not list commands: ${message}`] },
            ]
          }
        }),
    )
    const commands: SlashCommand[] = []
    const problems: string[] = []
    const byName = new Map<string, SlashCommand>()
    for (const [source, listed] of lists) {
      problems.push(...listed.problems)
      for (const command of listed.commands) {
        const first = byName.get(command.name)
        if (first) {
          problems.push(
            `${source.name}: /${command.name} (${command.file ?? command.source}) is shadowed by /${first.name} (${first.file ?? first.source})`,
          )
          continue
        }
        byName.set(command.name, command)
        commands.push(command)
      }
    }
    return { commands, problems }
  }

  async function find(line: string, context?: ListContext): Promise<ResolvedCommand | undefined> {
    const slash = parseSlash(line)
    if (!slash) return undefined
    const { commands } = await list({ ...context, name: slash.name })
    const command = commands.find((c) => c.name === slash.name)
    return command ? { command, args: slash.args } : undefined
  }

  return {
    list,
    find,
    async expand(line: string, options?: ExpandOptions & ListContext) {
      const found = await find(line, options)
      if (!found?.command.expand) return undefined
      return { command: found.command, prompt: await found.command.expand(found.args, options) }
    },
  }
}
