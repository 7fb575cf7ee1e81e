/**
 * Custom slash commands from `<project>/.tau/commands/*.md` (the shape Claude Code reads): the
 * file name is the command, the body a prompt template where `$ARGUMENTS` is what follows the
 * command and `$1`, `$2` ... its words. Optional YAML front matter (`description`,
 * `argument-hint`) is parsed without running code: `---js` and other languages are refused.
 */
import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { frontmatterLanguage, parseFrontmatter } from '../skills/frontmatter.js'

export interface CustomCommand {
  readonly name: string
  readonly description: string
  readonly argumentHint?: string
  readonly template: string
  readonly file: string
}

export interface LoadedCommands {
  readonly commands: readonly CustomCommand[]
  /** Files skipped, with why. */
  readonly problems: readonly string[]
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export function parseCommandFile(file: string, text: string): CustomCommand {
  const name = basename(file, '.md')
  let body = text
  let data: Record<string, unknown> = {}
  if (frontmatterLanguage(text) !== undefined) {
    const parsed = parseFrontmatter(text)
    body = parsed.body
    if (typeof parsed.data === 'object' && parsed.data !== null) data = parsed.data as Record<string, unknown>
  }
  const template = body.trim()
  const description =
    typeof data.description === 'string' && data.description.trim() !== ''
      ? data.description.trim()
      : (template.split('\n')[0] ?? '').slice(0, 60)
  const hint = data['argument-hint']
  return {
    name,
    description,
    ...(typeof hint === 'string' ? { argumentHint: hint } : {}),
    template,
    file,
  }
}

export async function loadCommands(projectDir: string): Promise<LoadedCommands> {
  const dir = join(projectDir, '.tau', 'commands')
  let names: string[]
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.md')).sort()
  } catch {
    return { commands: [], problems: [] }
  }
  const commands: CustomCommand[] = []
  const problems: string[] = []
  for (const name of names) {
    const file = join(dir, name)
    if (!NAME.test(basename(name, '.md'))) {
      problems.push(`${file}: not a usable command name`)
      continue
    }
    try {
      commands.push(parseCommandFile(file, await readFile(file, 'utf8')))
    } catch (error) {
      problems.push(`${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { commands, problems }
}

/** Fills the template: `$ARGUMENTS` is the whole argument text, `$1`..`$9` its words. */
export function expandTemplate(template: string, args: string): string {
  const words = args.trim() === '' ? [] : args.trim().split(/\s+/)
  let text = template.replaceAll('$ARGUMENTS', args.trim())
  text = text.replace(/\$([1-9])(?![0-9])/g, (_, n: string) => words[Number(n) - 1] ?? '')
  if (!template.includes('$ARGUMENTS') && args.trim() !== '' && !/\$[1-9]/.test(template))
    text = `${text}\n\nARGUMENTS: ${args.trim()}`
  return text
}

/** Splits `/name rest of line` into the name and the rest; undefined when not a slash command. */
export function parseSlash(line: string): { name: string; args: string } | undefined {
  const match = /^\/([A-Za-z0-9][A-Za-z0-9_.:-]*)(?:\s+([\s\S]*))?$/.exec(line.trim())
  if (!match) return undefined
  return { name: match[1]!, args: match[2] ?? '' }
}
