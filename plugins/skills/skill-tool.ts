/**
 * The `Skill` tool (level 2): the model names a skill, the tool returns its instructions (the
 * SKILL.md body) with its base directory, so relative paths in the body resolve. Parameters as
 * in Claude Code's Skill tool: `skill` (the name) and optional `args`.
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { didYouMean } from '../../kernel/index.js'
import type { Tool, ToolOutput } from '../tools/index.js'
import { builtJsonSchema, defineTool } from '../tools/index.js'
import type { SkillIndex } from './discovery.js'
import { parseSkill } from './frontmatter.js'

/** What the Skill tool puts in `display`: the agent reads `allowedTools` to limit tools. */
export interface SkillDisplay {
  readonly type: 'skill'
  readonly skill: string
  readonly baseDir: string
  readonly file: string
  /** From the skill's `allowed-tools`; undefined when the skill does not limit tools. */
  readonly allowedTools?: readonly string[]
}

/** The Skill tool's input (its JSON Schema is the build's: scripts/bundle-bin.mjs). */
export const skillInput = z.object({
  skill: z
    .string()
    .min(1)
    .describe('The name of a skill from the available skills list. Do not guess names.'),
  args: z.string().optional().describe('Optional arguments for the skill.'),
})

export const SKILL_TOOL_DESCRIPTION = `Loads a skill: its instructions and the base directory its files are in.

When a task matches one of the available skills listed in the system prompt, call this tool with the skill's exact name before starting on the task, then follow the instructions it returns. Read or run the files they mention with the normal tools, resolving relative paths from the skill's base directory. Only name skills from the list; do not load a skill that is already loaded in this conversation.`

export function createSkillTool(load: () => Promise<SkillIndex>): Tool<z.infer<typeof skillInput>> {
  return defineTool({
    name: 'Skill',
    description: SKILL_TOOL_DESCRIPTION,
    input: skillInput,
    jsonSchema: builtJsonSchema('Skill'),
    annotations: { readOnly: true },
    permissionTarget: (value) => value.skill.replace(/^\//, ''),
    async execute({ skill: requested, args }): Promise<ToolOutput> {
      const name = requested.replace(/^\//, '').trim()
      const index = await load()
      const found = index.byName.get(name)
      if (!found) {
        const skipped = index.all.find((s) => s.name === name && s.status === 'skipped')
        if (skipped) {
          const why = skipped.problems.filter((p) => p.severity === 'error').map((p) => p.message)
          return {
            isError: true,
            content: [
              { type: 'text', text: `Error: the skill '${name}' cannot be loaded: ${why.join('; ')}` },
            ],
          }
        }
        const names = index.skills.map((s) => s.name)
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: `Error: no skill named '${name}'${didYouMean(name, names)}. Available: ${names.join(', ') || '(none)'}`,
            },
          ],
        }
      }
      let body: string
      try {
        // Read again at call time: the file may have changed since discovery.
        const parsed = parseSkill(await readFile(found.file, 'utf8'), found.file, found.folder)
        if (!parsed.meta) throw new Error(parsed.problems.map((p) => p.message).join('; '))
        body = parsed.body
      } catch (error) {
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: `Error: cannot read the skill '${name}' (${found.file}): ${(error as Error).message}`,
            },
          ],
        }
      }
      const allowed = found.meta?.allowedTools
      const parts = [
        `Skill '${found.name}' loaded.`,
        `Base directory for this skill: ${found.dir}`,
        'Resolve relative paths in these instructions from that directory (for example references/x.md is <base directory>/references/x.md).',
        ...(allowed ? [`While this skill is active, use only these tools: ${allowed.join(' ')}`] : []),
        '',
        body.trim(),
        ...(args && args.trim() !== '' ? ['', `ARGUMENTS: ${args}`] : []),
      ]
      const display: SkillDisplay = {
        type: 'skill',
        skill: found.name,
        baseDir: found.dir,
        file: found.file,
        ...(allowed ? { allowedTools: allowed } : {}),
      }
      return { content: [{ type: 'text', text: parts.join('\n') }], display }
    },
  })
}
