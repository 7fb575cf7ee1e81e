/**
 * The `skills` plugin: Agent Skills (SKILL.md folders) with progressive disclosure.
 * Level 1: name + description of each skill in the system prompt (within a budget, most relevant
 * to the user's prompt first). Level 2: the `Skill` tool returns a skill's instructions and base
 * directory. Level 3: files the instructions mention, read or run with the normal tools.
 */
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { cliCommandsRef, definePlugin, defineService } from '../../kernel/index.js'
import { agentHooksRef } from '../agent/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { Bm25Index, tokenize } from './bm25.js'
import { type DiscoveredSkill, discoverSkills, type SkillDirectory, type SkillIndex } from './discovery.js'
import { findTauPackage } from './package-root.js'
import { skillsSection } from './prompt.js'
import { createSkillTool } from './skill-tool.js'

export { Bm25Index, tokenize } from './bm25.js'
export {
  type DiscoveredSkill,
  discoverSkills,
  type SkillDirectory,
  type SkillIndex,
  type SkillStatus,
} from './discovery.js'
export {
  COMPATIBILITY_MAX,
  DESCRIPTION_MAX,
  NAME_MAX,
  parseFrontmatter,
  parseSkill,
  SAFE_MATTER_OPTIONS,
  type SkillMeta,
  type SkillProblem,
  splitTools,
} from './frontmatter.js'
export { findTauPackage, type TauPackage } from './package-root.js'
export { SKILLS_INTRO, skillsSection } from './prompt.js'
export { createSkillTool, SKILL_TOOL_DESCRIPTION, type SkillDisplay } from './skill-tool.js'

/** Directories other plugins contribute: `ctx.provide(skillDirectoriesRef, { dir, source })`. */
export const skillDirectoriesRef = defineService<SkillDirectory, 'root', true>('skills.directories', {
  multiple: true,
  description: 'Extra directories of SKILL.md folders, contributed by plugins.',
})

export interface SkillCatalog {
  /** The skill directories searched, in priority order. */
  directories(): SkillDirectory[]
  /** Discovers skills once (cached); `refresh()` discovers again. */
  load(): Promise<SkillIndex>
  refresh(): Promise<SkillIndex>
  /** Loaded skills ordered by relevance to `prompt` (BM25 over name and description). */
  rank(prompt: string): Promise<Array<{ skill: DiscoveredSkill; score: number }>>
}

export const skillCatalogRef = defineService<SkillCatalog>('skills.catalog', {
  description: 'Discovered Agent Skills, their problems, and ranking against a prompt.',
})

export const skillsConfig = z.strictObject({
  /** Extra skill directories, relative to the project directory. */
  directories: z.array(z.string()).default([]),
  /** Search `<tauHome>/skills`. */
  user: z.boolean().default(true),
  /** Search `<project>/.claude/skills` (Claude Code compatibility). */
  claude: z.boolean().default(true),
  /**
   * tau's own skills (source `tau`, the `skills/` folder of the installed package): `true` lists
   * them in every system prompt; `'ranked'` lists one only when the session's first prompt names
   * tau and ranks it (BM25 score at least `hint.minScore`), so a coding session pays nothing for
   * them; `false`
   * does not search them. The Skill tool loads them by name unless `false`.
   */
  builtin: z.union([z.boolean(), z.literal('ranked')]).default('ranked'),
  /** Characters the skills section of the system prompt may take. */
  promptBudget: z.number().int().positive().default(8000),
  hint: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Hint only when at least this many skills are loaded (with few, the list says enough). */
      minSkills: z.number().int().min(1).default(8),
      /** The best BM25 score must reach this... */
      minScore: z.number().min(0).default(1.5),
      /** ...and be at least this many times the second best. */
      minRatio: z.number().min(1).default(1.5),
    })
    .prefault({}),
})
export type SkillsConfig = z.infer<typeof skillsConfig>

/** The hint added to a prompt when one skill clearly matches it, or undefined. */
export function skillHint(
  ranked: ReadonlyArray<{ skill: DiscoveredSkill; score: number }>,
  hint: SkillsConfig['hint'],
): string | undefined {
  if (!hint.enabled || ranked.length < hint.minSkills) return undefined
  const [best, second] = ranked
  if (!best || best.score < hint.minScore) return undefined
  if (second && second.score > 0 && best.score < second.score * hint.minRatio) return undefined
  return `<skill-hint>The skill '${best.skill.name}' looks relevant to this request: ${best.skill.meta?.description ?? ''} If it fits, load it with the Skill tool (skill: "${best.skill.name}") before starting.</skill-hint>`
}

/** The skills a prompt may see: tau's own only when `builtin` is on or the prompt ranks them. */
export function visibleSkills(
  ranked: ReadonlyArray<{ skill: DiscoveredSkill; score: number }>,
  query: string,
  config: Pick<SkillsConfig, 'builtin' | 'hint'>,
): Array<{ skill: DiscoveredSkill; score: number }> {
  if (config.builtin === true) return [...ranked]
  // tau's skills are about tau: a prompt that does not name it ("fix this error") is not theirs,
  // however well its words match their descriptions.
  const aboutTau = query.length > 0 && tokenize(query).includes(TAU_SOURCE)
  return ranked.filter((r) => r.skill.source !== TAU_SOURCE || (aboutTau && r.score >= config.hint.minScore))
}

/** The source of the skills shipped in tau's package. */
export const TAU_SOURCE = 'tau'

/** The `skills/` folder of tau's installed package, or undefined outside it. */
export function builtinSkillsDir(): string | undefined {
  const pkg = findTauPackage()
  return pkg ? join(pkg.root, 'skills') : undefined
}

export default definePlugin({
  name: 'skills',
  description: 'Agent Skills: SKILL.md discovery, the skills list in the prompt, the Skill tool, matching',
  dependsOn: ['agent', 'tools'],
  config: skillsConfig,
  setup(ctx) {
    const { projectDir, tauHome } = ctx.paths
    const builtinDir = ctx.config.builtin === false ? undefined : builtinSkillsDir()
    const directories = (): SkillDirectory[] => [
      { dir: join(projectDir, '.tau', 'skills'), source: 'project' },
      ...(ctx.config.claude ? [{ dir: join(projectDir, '.claude', 'skills'), source: 'claude' }] : []),
      ...(ctx.config.user ? [{ dir: join(tauHome, 'skills'), source: 'user' }] : []),
      ...ctx.config.directories.map((dir) => ({ dir: resolve(projectDir, dir), source: 'config' })),
      ...(ctx.tryResolve(skillDirectoriesRef) ?? []).map((d) => ({
        dir: resolve(projectDir, d.dir),
        source: d.source,
      })),
      // Last: a skill of the user's with the same name as one of tau's wins.
      ...(builtinDir ? [{ dir: builtinDir, source: TAU_SOURCE }] : []),
    ]
    let cached: Promise<{ index: SkillIndex; bm25: Bm25Index }> | undefined
    const discover = () => {
      const started = performance.now()
      const loading = discoverSkills(directories()).then((index) => {
        for (const skill of index.all) {
          for (const problem of skill.problems) {
            ctx.logger.warn(`skill ${skill.status === 'skipped' ? 'skipped' : 'loaded with a warning'}`, {
              file: problem.file,
              field: problem.field,
              rule: problem.rule,
              message: problem.message,
            })
          }
        }
        ctx.logger.debug('skills discovered', {
          skills: index.skills.length,
          found: index.all.length,
          ms: Math.round(performance.now() - started),
        })
        const bm25 = new Bm25Index(
          index.skills.map((s) => ({
            id: s.name,
            // The name counts twice: a prompt naming the skill should find it.
            text: `${s.name} ${s.name} ${s.meta?.description ?? ''}`,
          })),
        )
        return { index, bm25 }
      })
      cached = loading
      // A failure (it should not happen: discovery does not throw) is tried again next time.
      loading.catch(() => {
        if (cached === loading) cached = undefined
      })
      return loading
    }
    const state = () => cached ?? discover()
    const rank = async (prompt: string) => {
      const { index, bm25 } = await state()
      const scores = bm25.rank(prompt)
      return scores.map(({ id, score }) => ({ skill: index.byName.get(id)!, score }))
    }
    const catalog: SkillCatalog = {
      directories,
      load: async () => (await state()).index,
      refresh: async () => (await discover()).index,
      rank,
    }
    ctx.provide(skillCatalogRef, catalog)

    const registry = ctx.resolve(toolRegistryRef)
    const unregister = registry.register(createSkillTool(catalog.load), ctx.name)

    // The prompt of a session's first run: userPromptSubmit fires before the system prompt is
    // built, so the list can be ordered by what the user asked.
    const firstPrompt = new Map<string, string>()
    const hooks = ctx.hooksOf(agentHooksRef)
    hooks.userPromptSubmit.tapPromise(async (submission) => {
      if (!firstPrompt.has(submission.sessionId)) firstPrompt.set(submission.sessionId, submission.prompt)
      const ranked = visibleSkills(await rank(submission.prompt), submission.prompt, ctx.config)
      const hint = skillHint(ranked, ctx.config.hint)
      if (!hint) return submission
      return { ...submission, additionalContext: [...(submission.additionalContext ?? []), hint] }
    })
    hooks.systemPrompt.tapPromise(async (prompt) => {
      const query = firstPrompt.get(prompt.sessionId) ?? ''
      const ranked = visibleSkills(await rank(query), query, ctx.config)
      // With no prompt (or no match) the order is by name: BM25 gives 0 to all, ties by id.
      const section = skillsSection(
        ranked.map((r) => r.skill),
        ctx.config.promptBudget,
      )
      if (!section) return prompt
      return {
        ...prompt,
        sections: [...prompt.sections.filter((s) => s.id !== 'skills'), { id: 'skills', text: section.text }],
      }
    })
    hooks.sessionEnd.tapPromise(async ({ sessionId }) => {
      firstPrompt.delete(sessionId)
    })

    ctx.provide(cliCommandsRef, {
      name: 'skills',
      description: 'list the Agent Skills found, with their status and problems (file, field, rule)',
      options: [{ flags: '--json', description: 'print JSON' }],
      async run({ options, stdout }) {
        const index = await catalog.refresh()
        if (options.json) {
          stdout.write(
            `${JSON.stringify(
              {
                directories: directories(),
                skills: index.all.map((s) => ({
                  name: s.name,
                  status: s.status,
                  source: s.source,
                  file: s.file,
                  description: s.meta?.description,
                  allowedTools: s.meta?.allowedTools,
                  problems: s.problems,
                })),
              },
              null,
              2,
            )}\n`,
          )
          return index.all.some((s) => s.status === 'skipped') ? 1 : 0
        }
        stdout.write(formatSkills(index, directories()))
        return index.all.some((s) => s.status === 'skipped') ? 1 : 0
      },
    })

    return () => {
      unregister()
      firstPrompt.clear()
    }
  },
})

/** The text of `tau skills`. */
export function formatSkills(index: SkillIndex, directories: readonly SkillDirectory[]): string {
  const lines: string[] = ['Skill directories (in priority order):']
  for (const d of directories) lines.push(`  ${d.source.padEnd(8)} ${d.dir}`)
  lines.push('')
  if (index.all.length === 0) {
    lines.push('No skills found.')
    return `${lines.join('\n')}\n`
  }
  const ok = index.all.filter((s) => s.status !== 'skipped').length
  lines.push(`${ok} skill(s) loaded, ${index.all.length - ok} skipped:`)
  for (const s of index.all) {
    lines.push(`  ${s.status.padEnd(8)} ${s.name}  (${s.source}) ${s.file}`)
    for (const p of s.problems) {
      lines.push(`           ${p.severity}: ${p.file}: ${p.field}: ${p.rule}: ${p.message}`)
    }
  }
  return `${lines.join('\n')}\n`
}
