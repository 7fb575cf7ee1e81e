/**
 * Finds skills: every `<dir>/<folder>/SKILL.md` under the skill directories, parsed in parallel.
 * A directory that does not exist is no error; a skill that breaks a rule is reported, never
 * thrown. Earlier directories win when two skills have the same name (project over user).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseSkill, type SkillMeta, type SkillProblem } from './frontmatter.js'

export interface SkillDirectory {
  readonly dir: string
  /** Where it comes from: `project`, `user`, `claude`, `config`, or the contributing plugin's name. */
  readonly source: string
}

export type SkillStatus = 'ok' | 'warning' | 'skipped'

export interface DiscoveredSkill {
  /** The name the Skill tool takes (the folder name when the frontmatter has none). */
  readonly name: string
  readonly folder: string
  /** The skill's base directory (absolute). */
  readonly dir: string
  /** Its SKILL.md (absolute). */
  readonly file: string
  readonly source: string
  readonly status: SkillStatus
  /** Undefined when skipped. */
  readonly meta?: SkillMeta
  readonly problems: readonly SkillProblem[]
}

export interface SkillIndex {
  /** Every SKILL.md found, in discovery order, skipped ones included. */
  readonly all: readonly DiscoveredSkill[]
  /** The skills that load (status ok or warning), one per name. */
  readonly skills: readonly DiscoveredSkill[]
  readonly byName: ReadonlyMap<string, DiscoveredSkill>
}

const SKILL_FILE = 'SKILL.md'

async function listFolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries
      .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort()
  } catch {
    return []
  }
}

async function loadOne(directory: SkillDirectory, folder: string): Promise<DiscoveredSkill | undefined> {
  const dir = join(directory.dir, folder)
  const file = join(dir, SKILL_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A folder without SKILL.md is not a skill (or a symlink to a file): nothing to report.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    return {
      name: folder,
      folder,
      dir,
      file,
      source: directory.source,
      status: 'skipped',
      problems: [
        {
          file,
          field: 'file',
          rule: 'readable',
          message: `cannot read SKILL.md: ${(error as Error).message}`,
          severity: 'error',
        },
      ],
    }
  }
  const parsed = parseSkill(text, file, folder)
  const status: SkillStatus = !parsed.meta ? 'skipped' : parsed.problems.length > 0 ? 'warning' : 'ok'
  return {
    name: parsed.meta?.name ?? folder,
    folder,
    dir,
    file,
    source: directory.source,
    status,
    ...(parsed.meta ? { meta: parsed.meta } : {}),
    problems: parsed.problems,
  }
}

/** Discovers the skills of the given directories (in priority order). */
export async function discoverSkills(directories: readonly SkillDirectory[]): Promise<SkillIndex> {
  const seenDirs = new Set<string>()
  const unique = directories.filter((d) => {
    if (seenDirs.has(d.dir)) return false
    seenDirs.add(d.dir)
    return true
  })
  const perDir = await Promise.all(
    unique.map(async (directory) => {
      const folders = await listFolders(directory.dir)
      return Promise.all(folders.map((folder) => loadOne(directory, folder)))
    }),
  )
  const all: DiscoveredSkill[] = []
  const skills: DiscoveredSkill[] = []
  const byName = new Map<string, DiscoveredSkill>()
  for (const found of perDir.flat()) {
    if (!found) continue
    if (found.status !== 'skipped') {
      const first = byName.get(found.name)
      if (first) {
        all.push({
          ...found,
          status: 'skipped',
          problems: [
            ...found.problems,
            {
              file: found.file,
              field: 'name',
              rule: 'unique',
              message: `a skill named '${found.name}' is already loaded from ${first.file} (${first.source})`,
              severity: 'error',
            },
          ],
        })
        continue
      }
      byName.set(found.name, found)
      skills.push(found)
    }
    all.push(found)
  }
  return { all, skills, byName }
}
