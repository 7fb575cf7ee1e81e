/**
 * Markdown command files, in the layout Claude Code reads: `<project>/.tau/commands/**.md` (and
 * `<project>/.claude/commands`, so existing command folders work unchanged) and
 * `~/.tau/commands/**.md` for the user. The file name is the command; a subfolder only labels it
 * (`frontend/component.md` is `/component`, shown as `project:frontend`). The body is a prompt
 * template (`$ARGUMENTS`, `$1`..`$9`). Optional front matter — `description`, `argument-hint` —
 * is parsed as YAML only: `---js` and other engines are refused without running anything.
 */
import type { Dirent } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import { frontmatterLanguage, parseFrontmatter } from '../../kernel/index.js'
import { expandTemplate } from './template.js'
import type { SlashCommand, SlashCommandList } from './types.js'

export interface CommandFile {
  readonly name: string
  readonly description: string
  readonly argumentHint?: string
  readonly template: string
  readonly file: string
}

export interface CommandDirectory {
  readonly dir: string
  /** `project` or `user`; a subfolder is appended: `project:frontend`. */
  readonly scope: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
/** Folders below a commands folder that are searched (a guard against a huge tree). */
const MAX_DEPTH = 4

export function parseCommandFile(file: string, text: string): CommandFile {
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

async function markdownFiles(dir: string, depth = 0): Promise<string[]> {
  let entries: Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return []
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: string[] = []
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory() && depth < MAX_DEPTH) out.push(...(await markdownFiles(path, depth + 1)))
    else if (entry.isFile() && entry.name.endsWith('.md')) out.push(path)
  }
  return out
}

function commandOf(parsed: CommandFile, scope: string): SlashCommand {
  return {
    name: parsed.name,
    description: parsed.description,
    ...(parsed.argumentHint !== undefined ? { argumentHint: parsed.argumentHint } : {}),
    source: scope,
    file: parsed.file,
    expand: async (args) => expandTemplate(parsed.template, args),
  }
}

/**
 * Reads every directory in order; a name already taken by an earlier file (the project's before
 * the user's) is reported and skipped.
 */
export async function loadCommandFiles(directories: readonly CommandDirectory[]): Promise<SlashCommandList> {
  const commands: SlashCommand[] = []
  const problems: string[] = []
  const seen = new Map<string, string>()
  for (const { dir, scope } of directories) {
    for (const file of await markdownFiles(dir)) {
      const name = basename(file, '.md')
      if (!NAME.test(name)) {
        problems.push(`${file}: '${name}' is not a usable command name (letters, digits, _ . -)`)
        continue
      }
      const first = seen.get(name)
      if (first !== undefined) {
        problems.push(`${file}: /${name} is already defined by ${first}; this file is ignored`)
        continue
      }
      let parsed: CommandFile
      try {
        parsed = parseCommandFile(file, await readFile(file, 'utf8'))
      } catch (error) {
        problems.push(`${file}: ${error instanceof Error ? error.message : String(error)}`)
        continue
      }
      seen.set(name, file)
      const folder = relative(dir, join(file, '..'))
      commands.push(commandOf(parsed, folder === '' ? scope : `${scope}:${folder.split(sep).join('/')}`))
    }
  }
  return { commands, problems }
}

/** The directories of a project and a user home, in precedence order. */
export function commandDirectories(projectDir: string, tauHome: string): CommandDirectory[] {
  return [
    { dir: join(projectDir, '.tau', 'commands'), scope: 'project' },
    { dir: join(projectDir, '.claude', 'commands'), scope: 'project' },
    { dir: join(tauHome, 'commands'), scope: 'user' },
  ]
}
