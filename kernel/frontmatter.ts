/**
 * Frontmatter (`---` YAML `---` at the top of a Markdown file) as skills, slash-command files and
 * agent files use it: one parser, so each plugin reads the same safe subset.
 *
 * Security: gray-matter's default engines evaluate `---js` / `---javascript` front matter with
 * eval(). Such files are untrusted input (a skill may come from the internet), so only YAML is
 * accepted: the language after the opening `---` is checked before gray-matter sees the text,
 * and the script engines are replaced by ones that refuse, as a second fence.
 */
import { createRequire } from 'node:module'

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
  const unmarked = text.replace(/^\uFEFF/, '')
  const simple = parseSimpleFrontmatter(unmarked)
  if (simple) return simple
  // Options are always passed, so gray-matter's content cache (keyed by text only) is bypassed.
  const file = loadMatter()(unmarked, SAFE_MATTER_OPTIONS)
  return { data: file.data, body: file.content }
}

const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?$/
const LIST_ITEM = /^( *)- (.*)$/
/** Plain scalars that YAML would read as something other than the string as written. */
const NOT_A_STRING = /^(?:~|null|true|false|yes|no|on|off|y|n)$/i

/** A scalar of the simple subset as the string YAML reads, or undefined when YAML might read it otherwise. */
function simpleScalar(raw: string): string | undefined {
  const value = raw.trimEnd()
  if (value === '' || value.includes('\t')) return undefined
  const quoted = /^"([^"\\]*)"$/.exec(value) ?? /^'([^']*)'$/.exec(value)
  if (quoted) return quoted[1]
  // A plain scalar: no indicator at the start, no number, date or special word, no `: ` or ` #`
  // inside (a mapping or a comment), no `:` at the end.
  if (/^[-?:,[\]{}#&*!|>'"%@`0-9+.\s]/.test(value)) return undefined
  if (value.includes(': ') || value.includes(' #') || value.endsWith(':') || NOT_A_STRING.test(value)) {
    return undefined
  }
  return value
}

/**
 * The frontmatter most files have — top-level `key: string` lines and `key:` lists of strings —
 * read without gray-matter and js-yaml (whose load is tens of milliseconds of every start that
 * reads a skill or command file). Anything outside that subset returns undefined, for the YAML
 * parser: the answer is always the one gray-matter gives (a test compares the two).
 */
export function parseSimpleFrontmatter(
  text: string,
): { data: Record<string, unknown>; body: string } | undefined {
  const opening = /^---\r?\n/.exec(text)
  if (!opening) return undefined
  const rest = text.slice(opening[0].length)
  const close = rest.startsWith('---') ? -1 : rest.indexOf('\n---')
  const closeAt = close === -1 ? (rest.startsWith('---') ? 0 : -1) : close + 1
  if (closeAt === -1) return undefined
  const after = rest.slice(closeAt + 3)
  const end = /^(?:\r?\n|$)/.exec(after)
  if (!end) return undefined
  // gray-matter cuts one line break after the closing delimiter; an empty block is its own case.
  const block = rest.slice(0, closeAt)
  if (block.trim() === '' || closeAt === 0) return undefined
  const data: Record<string, unknown> = {}
  let list: string[] | undefined
  let indent: string | undefined
  for (const line of block
    .replace(/\r?\n$/, '')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const item = LIST_ITEM.exec(line)
    if (item) {
      if (!list || (indent !== undefined && indent !== item[1])) return undefined
      indent = item[1]
      const value = simpleScalar(item[2]!)
      if (value === undefined) return undefined
      list.push(value)
      continue
    }
    if (list && list.length === 0) return undefined
    list = undefined
    indent = undefined
    const entry = KEY.exec(line)
    if (!entry || Object.hasOwn(data, entry[1]!)) return undefined
    if (entry[2] === undefined || entry[2].trim() === '') {
      list = []
      data[entry[1]!] = list
      continue
    }
    const value = simpleScalar(entry[2])
    if (value === undefined) return undefined
    data[entry[1]!] = value
  }
  if (list && list.length === 0) return undefined
  return { data, body: after.replace(/^\r?\n/, '') }
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
