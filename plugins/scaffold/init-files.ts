/**
 * What `tau init` writes: a commented tau.config.ts, .tau/settings.json with permission rules for
 * the project's own commands, and a TAU.md describing the project, all from a ProjectScan and
 * the model found. Pure functions: the command decides what is written where.
 */
import type { ProjectScan } from './project-scan.js'

export interface ModelChoice {
  /** `provider:model`, or undefined when nothing was found. */
  readonly ref: string | undefined
  /** Why this one, for the config's comment. */
  readonly reason: string
}

export function configFile(scan: ProjectScan, model: ModelChoice, packageName: string): string {
  const modelLines = model.ref
    ? [`  // ${model.reason}.`, `  model: ${JSON.stringify(model.ref)},`]
    : [
        `  // ${model.reason}. Set one, e.g. 'ollama:qwen3:8b' (a local Ollama),`,
        "  // 'anthropic:claude-sonnet-4-5' (ANTHROPIC_API_KEY) or 'openai:gpt-4o' (OPENAI_API_KEY).",
        "  // model: 'ollama:qwen3:8b',",
      ]
  return `// tau's config for ${scan.name}, written by \`tau init\`. \`tau config\` prints it resolved,
// \`tau doctor\` checks the model, \`tau plugins\` lists what is loaded. Reference: docs/config.md
// in the ${packageName} package, or ask tau (its tau-config skill).
import { defineConfig } from '${packageName}'

export default defineConfig({
  // The coding agent: tools, permissions, MCP, sessions, memory (TAU.md), skills, hooks.
  preset: 'coding',
${modelLines.join('\n')}
  // Permission rules are in .tau/settings.json (shared with the repository) and
  // .tau/settings.local.json (yours; "allow always" writes there). \`tau permissions list\` shows them.
  // MCP servers: mcpServers: { name: { command, args } }, or the project's .mcp.json.
  // tau's own skills are listed when a prompt names tau; to list them always:
  // skills: { builtin: true },
})
`
}

export interface SettingsRules {
  readonly allow: readonly string[]
  readonly ask: readonly string[]
  readonly deny: readonly string[]
}

/** Rules for the project's own commands: test, lint, build and read-only git run without asking. */
export function settingsRules(scan: ProjectScan): SettingsRules {
  const allow = new Set<string>()
  for (const command of scan.commands) if (command.purpose !== 'install') allow.add(command.rule)
  if (scan.hasGit)
    for (const rule of ['Bash(git status)', 'Bash(git diff:*)', 'Bash(git log:*)']) allow.add(rule)
  const ask = new Set<string>()
  if (scan.hasGit) ask.add('Bash(git push:*)')
  for (const manager of scan.packageManagers) {
    if (['npm', 'pnpm', 'yarn', 'bun'].includes(manager)) ask.add(`Bash(${manager} publish:*)`)
    if (manager === 'cargo') ask.add('Bash(cargo publish:*)')
    if (manager === 'poetry') ask.add('Bash(poetry publish:*)')
    if (manager === 'uv') ask.add('Bash(uv publish:*)')
  }
  // Secrets stay out of the conversation.
  const deny = ['Read(./.env)', 'Read(./.env.*)', 'Read(*.pem)']
  return { allow: [...allow], ask: [...ask], deny }
}

export function settingsFile(rules: SettingsRules): string {
  return `${JSON.stringify({ permissions: rules }, null, 2)}\n`
}

const ECOSYSTEM_NAMES = { node: 'JavaScript/TypeScript (Node.js)', python: 'Python', go: 'Go', rust: 'Rust' }

export function memoryFile(scan: ProjectScan): string {
  const lines = [`# ${scan.name}`, '']
  lines.push(scan.description ?? '<!-- What this project is, in a sentence or two. -->', '')
  if (scan.ecosystems.length > 0)
    lines.push(
      `Written in ${scan.ecosystems.map((e) => ECOSYSTEM_NAMES[e]).join(', ')}; package manager: ${scan.packageManagers.join(', ')}.`,
      '',
    )
  lines.push('## Commands', '')
  if (scan.commands.length === 0) lines.push('<!-- How to build, test and lint: the exact commands. -->')
  const seen = new Set<string>()
  for (const command of scan.commands) {
    if (seen.has(command.purpose)) continue
    seen.add(command.purpose)
    lines.push(`- ${command.purpose}: \`${command.command}\``)
  }
  lines.push('', '## Layout', '')
  if (scan.directories.length === 0) lines.push('<!-- The main folders and what is in each. -->')
  for (const dir of scan.directories) lines.push(`- \`${dir}/\``)
  lines.push(
    '',
    '## Conventions',
    '',
    '<!-- What a newcomer (or an agent) would get wrong here: style, naming, where tests go,',
    'what never to change. Keep this file short; tau reads it at the start of every session. -->',
    '',
  )
  return lines.join('\n')
}
