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
  // Options are always passed, so gray-matter's content cache (keyed by text only) is bypassed.
  const file = loadMatter()(text.replace(/^\uFEFF/, ''), SAFE_MATTER_OPTIONS)
  return { data: file.data, body: file.content }
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
