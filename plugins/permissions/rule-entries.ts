/**
 * A permission rule as the service keeps it: the rule, its parsed form, and why it can never
 * match when its text alone tells (rules.ts is the syntax). Also where a rule came from, for people.
 */
import {
  compileBashPattern,
  compileDomainPattern,
  PATH_RULE_TOOLS,
  type ParsedRule,
  parsePathPattern,
  parseRule,
} from './rules.js'
import type { PermissionProblem, PermissionRule, RuleSource } from './types.js'

/** The name `Network(domain:...)` rules use; SessionPermissions.decideNetwork() decides them. */
export const NETWORK = 'Network'

export interface Entry {
  readonly rule: PermissionRule
  readonly parsed: ParsedRule | undefined
  /** Why the rule can never match, found from its text alone. */
  readonly problem: string | undefined
}

const SCOPE_NAMES: Record<RuleSource['scope'], string> = {
  managed: 'managed settings',
  config: 'tau.config.ts',
  project: 'project settings',
  local: 'local project settings',
  user: 'user settings',
  cli: 'the command line',
  session: 'this session',
}

/** Where a rule came from, for people: `project settings (/p/.tau/settings.json)`. */
export function describeSource(source: RuleSource): string {
  if (source.scope === 'config') return source.file ?? 'the config'
  return source.file === undefined
    ? SCOPE_NAMES[source.scope]
    : `${SCOPE_NAMES[source.scope]} (${source.file})`
}

export const ruleLabel = (rule: PermissionRule) =>
  `the ${rule.behavior} rule ${rule.text} from ${describeSource(rule.source)}`

export function toEntry(rule: PermissionRule): Entry {
  const parsed = parseRule(rule.text)
  if (!parsed.ok) return { rule, parsed: undefined, problem: parsed.message }
  return { rule, parsed: parsed.rule, problem: specifierProblem(parsed.rule) }
}

/** Why a rule's specifier can never match, from its text alone. */
export function specifierProblem(rule: ParsedRule): string | undefined {
  const { toolName, content } = rule
  if (content === undefined) return undefined
  if (toolName.startsWith('mcp__')) {
    return `MCP rules take no specifier: write '${toolName}' (every tool of the server, or the one tool)`
  }
  if (toolName === 'Bash') {
    const compiled = compileBashPattern(content)
    return 'problem' in compiled ? compiled.problem : undefined
  }
  if (PATH_RULE_TOOLS.has(toolName)) {
    const parsed = parsePathPattern(content)
    return 'problem' in parsed ? parsed.problem : undefined
  }
  if (toolName === 'WebFetch' || toolName === NETWORK) {
    const compiled = compileDomainPattern(content)
    if (typeof compiled === 'function') return undefined
    return toolName === NETWORK ? compiled.problem.replace(/WebFetch/g, NETWORK) : compiled.problem
  }
  return undefined
}

export function problemOf(rule: PermissionRule, message: string): PermissionProblem {
  return { rule: rule.text, behavior: rule.behavior, source: rule.source, message }
}
