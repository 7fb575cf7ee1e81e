/** The skills section of the system prompt (level 1: name and description), within a budget. */

import type { DiscoveredSkill } from './discovery.js'
import { DESCRIPTION_MAX } from './frontmatter.js'

export const SKILLS_INTRO = `# Skills
Skills are folders of instructions, scripts and resources for particular tasks. Below is each available skill's name and what it is for. When a task matches a skill's description, call the Skill tool with that skill's name before you start on the task: it returns the skill's instructions and its base directory. Files the instructions mention are read or run with the normal tools, with paths resolved from that base directory. Only use skills listed here.`

export interface SkillsSection {
  readonly text: string
  /** Names listed, in order. */
  readonly listed: readonly string[]
  /** Names left out for the budget. */
  readonly omitted: readonly string[]
}

function entry(skill: DiscoveredSkill): string {
  const description = skill.meta?.description ?? ''
  const cut =
    description.length > DESCRIPTION_MAX ? `${description.slice(0, DESCRIPTION_MAX - 1)}…` : description
  return `- ${skill.name}: ${cut.replace(/\s+/g, ' ')}`
}

/**
 * Lists `ordered` (most relevant first) until `budget` characters of the whole section are used;
 * the rest are named in a last line, as far as the budget allows, so the model knows they exist.
 */
export function skillsSection(
  ordered: readonly DiscoveredSkill[],
  budget: number,
): SkillsSection | undefined {
  if (ordered.length === 0) return undefined
  const entries = ordered.map(entry)
  const build = (count: number, named: number): string => {
    const listed = entries.slice(0, count)
    let text = `${SKILLS_INTRO}\n\n<available_skills>\n${listed.map((l) => `${l}\n`).join('')}</available_skills>`
    const omitted = ordered.slice(count)
    if (omitted.length > 0) {
      const names = omitted.slice(0, named).map((s) => s.name)
      const rest = names.length < omitted.length ? ', …' : ''
      text += `\n${omitted.length} more skill(s) not described here for space${names.length > 0 ? `: ${names.join(', ')}${rest}` : ''}. The Skill tool loads any of them by name.`
    }
    return text
  }
  // As many full entries as fit, most relevant first; then as many of the others' names.
  let count = 0
  let used = build(0, 0).length
  while (count < entries.length) {
    const next = used + entries[count]!.length + 1
    if (next > budget) break
    used = next
    count++
  }
  while (count > 0 && build(count, 0).length > budget) count--
  let named = 0
  while (count + named < ordered.length && build(count, named + 1).length <= budget) named++
  return {
    text: build(count, named),
    listed: ordered.slice(0, count).map((s) => s.name),
    omitted: ordered.slice(count).map((s) => s.name),
  }
}
