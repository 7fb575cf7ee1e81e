/**
 * SKILL.md parsing and the Agent Skills frontmatter rules. The frontmatter itself is read by the
 * kernel's YAML-only parser (kernel/frontmatter.ts: it never evaluates `---js`), since command
 * files and agent files read the same way.
 */
import { frontmatterLanguage, parseFrontmatter, splitTools } from '../../kernel/index.js'

export { frontmatterLanguage, parseFrontmatter, SAFE_MATTER_OPTIONS, splitTools } from '../../kernel/index.js'

export type ProblemSeverity = 'warning' | 'error'

/** One broken rule: which file, which field, which rule, and what to do. */
export interface SkillProblem {
  readonly file: string
  /** A frontmatter field (`name`, `description`, ...) or `frontmatter` for the block itself. */
  readonly field: string
  /** A short rule id: `required`, `max-length`, `charset`, `matches-folder`, `yaml-only`, ... */
  readonly rule: string
  readonly message: string
  /** `warning`: the skill still loads; `error`: the skill is skipped. */
  readonly severity: ProblemSeverity
}

export interface SkillMeta {
  readonly name: string
  readonly description: string
  readonly license?: string
  readonly compatibility?: string
  readonly metadata?: Readonly<Record<string, string>>
  /** From `allowed-tools` (space-separated string; a YAML list is accepted too). */
  readonly allowedTools?: readonly string[]
}

export interface ParsedSkill {
  /** Undefined when the file is skipped. */
  readonly meta?: SkillMeta
  /** The Markdown body after the frontmatter. */
  readonly body: string
  readonly problems: readonly SkillProblem[]
}

export const NAME_MAX = 64
export const DESCRIPTION_MAX = 1024
export const COMPATIBILITY_MAX = 500

const NAME_CHARS = /^[a-z0-9-]+$/

/**
 * Parses one SKILL.md against the Agent Skills specification. Lenient faults (a description over
 * the limit, a name that does not match its folder or breaks the naming rule, a malformed
 * optional field) load with a warning; a file without parseable YAML frontmatter or without a
 * description is skipped with an error problem. Never throws.
 */
export function parseSkill(text: string, file: string, folder: string): ParsedSkill {
  const problems: SkillProblem[] = []
  const warn = (field: string, rule: string, message: string) =>
    problems.push({ file, field, rule, message, severity: 'warning' })
  const skip = (field: string, rule: string, message: string): ParsedSkill => {
    problems.push({ file, field, rule, message, severity: 'error' })
    return { body: '', problems }
  }

  const language = frontmatterLanguage(text)
  if (language === undefined) {
    return skip('frontmatter', 'required', 'SKILL.md must start with a YAML frontmatter block (---)')
  }
  if (language !== '' && language !== 'yaml' && language !== 'yml') {
    return skip(
      'frontmatter',
      'yaml-only',
      `front matter in '${language}' is refused: only YAML is accepted (it is never run)`,
    )
  }
  let data: unknown
  let body: string
  try {
    ;({ data, body } = parseFrontmatter(text))
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
    return skip('frontmatter', 'yaml-syntax', `the frontmatter is not valid YAML: ${reason}`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return skip('frontmatter', 'mapping', 'the frontmatter must be a YAML mapping of fields')
  }
  const fields = data as Record<string, unknown>

  // description: required; without it the model cannot choose the skill.
  const description = fields.description
  if (description === undefined || description === null) {
    return skip('description', 'required', 'description is required (what the skill does and when to use it)')
  }
  if (typeof description !== 'string') return skip('description', 'type', 'description must be a string')
  if (description.trim() === '') return skip('description', 'required', 'description must not be empty')
  if (description.length > DESCRIPTION_MAX) {
    warn(
      'description',
      'max-length',
      `description is ${description.length} characters; at most ${DESCRIPTION_MAX} (cut in the skills list)`,
    )
  }

  // name: the identifier the Skill tool takes; problems are lenient.
  let name: string
  const rawName = fields.name
  if (rawName === undefined || rawName === null || rawName === '') {
    name = folder
    warn('name', 'required', `name is required; the folder name '${folder}' is used`)
  } else if (typeof rawName !== 'string') {
    name = folder
    warn('name', 'type', `name must be a string; the folder name '${folder}' is used`)
  } else {
    name = rawName
    if (name.length > NAME_MAX) {
      warn('name', 'max-length', `name is ${name.length} characters; at most ${NAME_MAX}`)
    }
    if (!NAME_CHARS.test(name)) {
      warn('name', 'charset', 'name may contain only lowercase letters, digits and hyphens')
    }
    if (name.startsWith('-') || name.endsWith('-')) {
      warn('name', 'hyphen-edge', 'name must not start or end with a hyphen')
    }
    if (name.includes('--')) warn('name', 'consecutive-hyphens', 'name must not contain "--"')
    if (name !== folder) {
      warn('name', 'matches-folder', `name '${name}' does not match its folder '${folder}'`)
    }
  }

  const meta: {
    name: string
    description: string
    license?: string
    compatibility?: string
    metadata?: Record<string, string>
    allowedTools?: string[]
  } = { name, description: description.trim() }

  if (fields.license !== undefined && fields.license !== null) {
    if (typeof fields.license === 'string') meta.license = fields.license
    else warn('license', 'type', 'license must be a string (ignored)')
  }

  if (fields.compatibility !== undefined && fields.compatibility !== null) {
    const value = fields.compatibility
    if (typeof value !== 'string') warn('compatibility', 'type', 'compatibility must be a string (ignored)')
    else {
      if (value.length > COMPATIBILITY_MAX) {
        warn(
          'compatibility',
          'max-length',
          `compatibility is ${value.length} characters; at most ${COMPATIBILITY_MAX}`,
        )
      }
      meta.compatibility = value
    }
  }

  if (fields.metadata !== undefined && fields.metadata !== null) {
    const value = fields.metadata
    if (typeof value !== 'object' || Array.isArray(value)) {
      warn('metadata', 'type', 'metadata must be a mapping of string keys to string values (ignored)')
    } else {
      const entries = Object.entries(value as Record<string, unknown>)
      const bad = entries.filter(([, v]) => typeof v !== 'string').map(([k]) => k)
      if (bad.length > 0) {
        warn('metadata', 'type', `metadata values must be strings (ignored: ${bad.join(', ')})`)
      }
      meta.metadata = Object.fromEntries(entries.filter(([, v]) => typeof v === 'string')) as Record<
        string,
        string
      >
    }
  }

  const tools = fields['allowed-tools']
  if (tools !== undefined && tools !== null) {
    if (typeof tools === 'string') meta.allowedTools = splitTools(tools)
    else if (Array.isArray(tools) && tools.every((t) => typeof t === 'string')) {
      meta.allowedTools = tools.map((t) => t.trim()).filter((t) => t !== '')
    } else {
      warn('allowed-tools', 'type', 'allowed-tools must be a space-separated string of tool names (ignored)')
    }
  }

  return { meta, body, problems }
}
