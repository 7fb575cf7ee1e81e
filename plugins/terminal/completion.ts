/** Tab completion of `/commands`: what matches the typed prefix, each with its argument hint. */
import type { SlashCommand } from '../slash-commands/index.js'

export interface Completion {
  /** `/name`, what Tab inserts. */
  readonly name: string
  /** `/name [focus]`: the name with the command's argument hint, as the list shows it. */
  readonly label: string
  readonly description: string
}

/** The commands whose name starts with `prefix` (typed without the slash), in list order. */
export function completions(commands: readonly SlashCommand[], prefix: string): Completion[] {
  return commands
    .filter((c) => c.name.startsWith(prefix))
    .map((c) => ({
      name: `/${c.name}`,
      label: `/${c.name}${c.argumentHint ? ` ${c.argumentHint}` : ''}`,
      description: c.source === 'built-in' ? c.description : `${c.description} (${c.source})`,
    }))
}

/** What Tab makes of the input: the one match and a space, or the matches' common prefix. */
export function completeText(matches: readonly Completion[]): string | undefined {
  if (matches.length === 0) return undefined
  let common = matches[0]!.name
  for (const { name } of matches) while (!name.startsWith(common)) common = common.slice(0, -1)
  return matches.length === 1 ? `${common} ` : common
}
