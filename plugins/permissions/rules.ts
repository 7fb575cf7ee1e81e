/**
 * Permission rule syntax, as Claude Code writes it: `Tool` or `Tool(specifier)`.
 *
 * - `Bash(npm run build)` matches that command exactly; `Bash(npm test:*)` matches `npm test`
 *   and `npm test <anything>` (a word boundary: not `npm testing`); `*` is a wildcard anywhere
 *   (`Bash(git * main)`), and a trailing ` *` also matches the command without arguments.
 * - `Read(...)`, `Edit(...)` (and the other file tools) take gitignore-style patterns:
 *   `//abs/path`, `~/in/home`, `/relative/to/project/root`, `./relative/to/cwd` or `relative`.
 * - `WebFetch(domain:example.com)` matches that host; `domain:*.example.com` its subdomains.
 * - `mcp__server` matches every tool of an MCP server, `mcp__server__tool` one tool,
 *   `mcp__server__*` is the same as `mcp__server`.
 * - `Tool` alone, or `Tool(*)`, matches every use of the tool.
 */

/** Tools whose rule specifiers are path patterns. */
export const PATH_RULE_TOOLS: ReadonlySet<string> = new Set([
  'Read',
  'Edit',
  'Write',
  'MultiEdit',
  'NotebookEdit',
  'NotebookRead',
  'Glob',
  'Grep',
  'LS',
])

export interface ParsedRule {
  readonly toolName: string
  /** The specifier between the parentheses; undefined for a bare tool name (or `Tool(*)`). */
  readonly content: string | undefined
}

export type ParseResult = { ok: true; rule: ParsedRule } | { ok: false; message: string }

const RULE = /^([A-Za-z][A-Za-z0-9_-]*(?:\*)?)(?:\(([\s\S]*)\))?$/

/** Parses a rule's text; `ok: false` says what is wrong with it. */
export function parseRule(text: string): ParseResult {
  const trimmed = text.trim()
  if (trimmed === '') return { ok: false, message: 'an empty rule matches nothing' }
  const open = trimmed.indexOf('(')
  if (open !== -1 && !trimmed.endsWith(')')) {
    return { ok: false, message: "the specifier is not closed: a rule is 'Tool' or 'Tool(specifier)'" }
  }
  const match = RULE.exec(trimmed)
  if (!match) {
    return {
      ok: false,
      message:
        "not a rule: a rule is a tool name ('Bash', 'mcp__server__tool') or 'Tool(specifier)', e.g. 'Bash(npm test:*)'",
    }
  }
  const toolName = match[1] as string
  const raw = match[2]
  if (toolName.endsWith('*') && !/^mcp__[^_]+(?:_[^_]+)*__\*$/.test(toolName)) {
    return { ok: false, message: `'${toolName}': a wildcard in a tool name only works as 'mcp__server__*'` }
  }
  if (raw !== undefined && raw.trim() === '') {
    return { ok: false, message: `'${toolName}()' has an empty specifier; write '${toolName}' for every use` }
  }
  const content = raw === undefined || raw.trim() === '*' ? undefined : raw.trim()
  return { ok: true, rule: { toolName, content } }
}

/**
 * Splits a `--allowed-tools` / `--disallowed-tools` value into rules: separated by commas or
 * whitespace outside parentheses, so `"Bash(git log:*) Read, Edit(docs/**)"` gives three rules.
 */
export function parseRuleList(value: string | readonly string[]): string[] {
  const values = typeof value === 'string' ? [value] : value
  const out: string[] = []
  for (const text of values) {
    let depth = 0
    let current = ''
    for (const c of text) {
      if (c === '(') depth++
      if (c === ')') depth = Math.max(0, depth - 1)
      if (depth === 0 && (c === ',' || /\s/.test(c))) {
        if (current !== '') out.push(current)
        current = ''
        continue
      }
      current += c
    }
    if (current !== '') out.push(current)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Bash

export interface BashPattern {
  /** Set for a rule without wildcards: the one command it allows. */
  readonly exact: string | undefined
  test(command: string): boolean
}

const collapse = (text: string) => text.trim().replace(/\s+/g, ' ')
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A wildcard pattern (`*` = any text, spaces included) as an anchored regular expression body. */
function wildcardBody(pattern: string): string {
  return pattern.split('*').map(escapeRegExp).join('[\\s\\S]*')
}

export function compileBashPattern(content: string): BashPattern | { problem: string } {
  const text = collapse(content)
  const legacy = text.indexOf(':*')
  if (legacy !== -1 && legacy !== text.length - 2) {
    return {
      problem: `':*' only works at the end of a Bash rule (a prefix rule such as 'Bash(npm test:*)'); this rule never matches`,
    }
  }
  if (legacy !== -1) {
    const prefix = text.slice(0, -2).trim()
    if (prefix === '') return { problem: "'Bash(:*)' has no prefix; write 'Bash' to match every command" }
    // A prefix matches at a word boundary: `npm test` and `npm test --watch`, not `npm testing`.
    const regex = new RegExp(`^${wildcardBody(prefix)}(?:\\s[\\s\\S]*)?$`)
    return { exact: undefined, test: (command) => regex.test(command) }
  }
  if (text.includes('*')) {
    // A trailing ` *` also matches the bare command: `ls *` matches `ls` and `ls -la`, not `lsof`.
    const optionalTail = text.endsWith(' *') && text.indexOf('*') === text.length - 1
    const body = optionalTail ? `${wildcardBody(text.slice(0, -2))}(?:\\s[\\s\\S]*)?` : wildcardBody(text)
    const regex = new RegExp(`^${body}$`)
    return { exact: undefined, test: (command) => regex.test(command) }
  }
  return { exact: text, test: (command) => command === text }
}

// ---------------------------------------------------------------------------------------------
// Paths

export type PathAnchor = 'root' | 'home' | 'project' | 'cwd'

export interface PathPattern {
  readonly anchor: PathAnchor
  /** Leading literal segments, resolved against the anchor to give the pattern's base directory. */
  readonly literal: readonly string[]
  /** The gitignore pattern relative to the base; null when the whole pattern is literal. */
  readonly pattern: string | null
}

const GLOB_CHARS = /[*?[\\]/

export function parsePathPattern(content: string): PathPattern | { problem: string } {
  let anchor: PathAnchor
  let rest: string
  let anchored: boolean
  if (content.startsWith('//')) {
    anchor = 'root'
    rest = content.slice(2)
    anchored = true
  } else if (content === '~' || content.startsWith('~/')) {
    anchor = 'home'
    rest = content.slice(2)
    anchored = true
  } else if (content.startsWith('/')) {
    anchor = 'project'
    rest = content.slice(1)
    anchored = true
  } else if (content.startsWith('./')) {
    anchor = 'cwd'
    rest = content.slice(2)
    anchored = true
  } else {
    anchor = 'cwd'
    rest = content
    // gitignore: a pattern with no slash but at its end matches at any depth.
    anchored = rest.replace(/\/+$/, '').includes('/') || rest === '..' || rest === '.'
  }
  if (rest.startsWith('!')) {
    return { problem: "a negated pattern ('!') cannot be a rule; write the opposite rule instead" }
  }
  if (rest.startsWith('#')) return { problem: "a pattern starting with '#' is a comment and matches nothing" }
  const dirOnly = rest.endsWith('/')
  const segments = rest.split('/').filter((s) => s !== '' && s !== '.')
  if (!anchored) {
    return { anchor, literal: [], pattern: `${segments.join('/')}${dirOnly ? '/' : ''}` }
  }
  const literal: string[] = []
  while (segments.length > 0 && !GLOB_CHARS.test(segments[0] as string))
    literal.push(segments.shift() as string)
  if (segments.includes('..')) {
    return { problem: "'..' after a wildcard is not supported in a path rule; it never matches" }
  }
  const pattern = segments.length === 0 ? null : `/${segments.join('/')}${dirOnly ? '/' : ''}`
  return { anchor, literal, pattern }
}

// ---------------------------------------------------------------------------------------------
// WebFetch domains and other specifiers

export function compileDomainPattern(content: string): ((host: string) => boolean) | { problem: string } {
  if (!content.startsWith('domain:')) {
    return {
      problem: "WebFetch rules take a domain: 'WebFetch(domain:example.com)'; this rule never matches",
    }
  }
  const domain = content.slice('domain:'.length).trim().toLowerCase().replace(/\.$/, '')
  if (domain === '') return { problem: "'domain:' needs a host name, e.g. 'domain:example.com'" }
  if (domain === '*') return () => true
  if (/[/:?#@\s]/.test(domain)) {
    return {
      problem: `'${domain}' is not a host name (no scheme, port or path): write 'domain:example.com'; this rule never matches`,
    }
  }
  if (domain.startsWith('*.')) {
    const suffix = domain.slice(1)
    return (host) => host.endsWith(suffix) && host.length > suffix.length
  }
  if (domain.includes('*')) return { problem: `'${domain}': a wildcard only works as '*.example.com'` }
  return (host) => host === domain
}

/** The host of a URL as rules compare it (lower case, no trailing dot, no IPv6 brackets). */
export function hostOf(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.toLowerCase().replace(/\.$/, '')
    return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  } catch {
    return undefined
  }
}

/** Specifiers of other tools: matched against the tool's permission target, `*` as a wildcard. */
export function compileWildcard(content: string): (value: string) => boolean {
  const regex = new RegExp(`^${wildcardBody(content)}$`)
  return (value) => regex.test(value)
}

/** Whether a rule's tool name covers a tool: same name, a file-tool family, or an MCP server. */
export function ruleNamesTool(
  ruleTool: string,
  tool: { readonly name: string; readonly access?: 'read' | 'edit' | undefined },
): boolean {
  if (ruleTool === tool.name) return true
  // Read rules apply to every tool that reads files (Glob, Grep, LS); Edit rules to every one that edits.
  if (ruleTool === 'Read' && tool.access === 'read') return true
  if (ruleTool === 'Edit' && tool.access === 'edit') return true
  if (ruleTool.startsWith('mcp__')) {
    const server = ruleTool.endsWith('__*') ? ruleTool.slice(0, -3) : ruleTool
    // `mcp__server` (no tool part) covers all of the server's tools.
    if (!server.slice(5).includes('__')) return tool.name.startsWith(`${server}__`)
  }
  return false
}
