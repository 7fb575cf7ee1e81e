/**
 * SKILL.md parsing and the Agent Skills frontmatter rules.
 *
 * Security: gray-matter's default engines evaluate `---js` / `---javascript` front matter with
 * eval(). A skill file is untrusted input (it may come from the internet), so only YAML is
 * accepted: the language after the opening `---` is checked before gray-matter sees the text,
 * and the script engines are replaced by ones that refuse, as a second fence.
 */
import { createRequire } from 'node:module'

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

const refuse = (language: string) => (): object => {
  throw new Error(`front matter in '${language}' is refused: only YAML is accepted`)
}

// gray-matter (with js-yaml) costs ~40 ms to import: load it when the first file is parsed,
// not at every start. It is CommonJS, so a synchronous require keeps parsing synchronous.
const require = createRequire(import.meta.url)
let matter: typeof import('gray-matter') | undefined
const loadMatter = () => {
  matter ??= require('gray-matter') as typeof import('gray-matter')
  return matter
}

/** gray-matter options: YAML (and JSON, which is YAML) only; the eval engines refuse. */
export const SAFE_MATTER_OPTIONS = {
  language: 'yaml',
  engines: {
    js: refuse('js'),
    javascript: refuse('javascript'),
    coffee: refuse('coffee'),
    coffeescript: refuse('coffeescript'),
    cson: refuse('cson'),
  },
}

const OPENING = /^\uFEFF?---([^\r\n]*)\r?\n/

/** The language named after the opening `---` (`''` for none), or undefined without frontmatter. */
export function frontmatterLanguage(text: string): string | undefined {
  const match = OPENING.exec(text)
  if (!match) return undefined
  return match[1]!.trim().toLowerCase()
}

/** Parses the frontmatter block as YAML, never running code. Throws on any other language. */
export function parseFrontmatter(text: string): { data: unknown; body: string } {
  const language = frontmatterLanguage(text)
  if (language === undefined) throw new Error('no frontmatter')
  if (language !== '' && language !== 'yaml' && language !== 'yml') {
    throw new Error(`front matter in '${language}' is refused: only YAML is accepted`)
  }
  // Options are always passed, so gray-matter's content cache (keyed by text only) is bypassed.
  const file = loadMatter()(text.replace(/^\uFEFF/, ''), SAFE_MATTER_OPTIONS)
  return { data: file.data, body: file.content }
}

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

/** Splits `Read Grep Bash(git diff:*)` on spaces outside parentheses. */
export function splitTools(text: string): string[] {
  const out: string[] = []
  let depth = 0
  let current = ''
  for (const char of text) {
    if (char === '(') depth++
    else if (char === ')') depth = Math.max(0, depth - 1)
    if ((char === ' ' || char === ',' || char === '\t' || char === '\n') && depth === 0) {
      if (current !== '') out.push(current)
      current = ''
    } else current += char
  }
  if (current !== '') out.push(current)
  return out
}
