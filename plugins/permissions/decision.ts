/**
 * How one call is decided from the session's rules and mode:
 *   1. deny rules (any part of a shell command, either the written or the real path) -> deny
 *   2. plan mode: a tool that is not read-only -> deny
 *   3. ask rules -> ask
 *   4. allow rules (every part of a shell command; the real path of a file) -> allow
 *   5. the mode: bypassPermissions -> allow; acceptEdits -> file edits inside the workspace;
 *      default (and plan) -> read-only tools inside the workspace; anything else -> ask.
 * A call the rules need a target for and that gives none is asked, never allowed. The session's
 * service (service.ts) owns the rules and the mode; this reads them at each decision.
 */
import { resolve } from 'node:path'
import { isInside, PathMatcher, realPathOf } from './paths.js'
import { type Entry, NETWORK, ruleLabel } from './rule-entries.js'
import {
  type BashPattern,
  compileBashPattern,
  compileDomainPattern,
  compileWildcard,
  hostOf,
  PATH_RULE_TOOLS,
  parsePathPattern,
  ruleNamesTool,
} from './rules.js'
import { type ShellPart, splitShellCommand } from './shell-split.js'
import type { PermissionBehavior, PermissionDecision, PermissionMode } from './types.js'

/** What decide() needs to know about a tool. */
export interface ToolFacts {
  readonly name: string
  readonly readOnly: boolean
  readonly openWorld: boolean
  readonly access: 'read' | 'edit' | undefined
}

export type Target =
  | { readonly kind: 'none' }
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'error'; readonly message: string }

/** Prefixes that do not change which program runs; stripped when checking deny and ask rules. */
const WRAPPERS = new Set(['command', 'builtin', 'exec', 'nohup', 'time', 'sudo', 'env', 'nice'])
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/

function unquote(word: string): string {
  return word.replace(/\\(.)|'([^']*)'|"((?:[^"\\]|\\.)*)"/g, (_m, escaped, single, double) =>
    escaped !== undefined ? escaped : single !== undefined ? single : String(double).replace(/\\(.)/g, '$1'),
  )
}

/**
 * The forms of a simple command that deny and ask rules are checked against: as written,
 * unquoted, without leading variable assignments and wrappers (`sudo rm` is still `rm`), and the
 * commands that `eval ...` and `sh -c '...'` run.
 */
function commandForms(part: ShellPart, depth = 0): string[] {
  const forms = new Set<string>([part.text])
  let words = part.words.map(unquote)
  forms.add(words.join(' '))
  for (;;) {
    const first = words[0]
    if (first === undefined) break
    if (ASSIGNMENT.test(first)) words = words.slice(1)
    else if (WRAPPERS.has(first)) {
      words = words.slice(1)
      while (words[0]?.startsWith('-')) words = words.slice(1)
    } else break
    if (words.length > 0) forms.add(words.join(' '))
  }
  const inner =
    words[0] === 'eval'
      ? words.slice(1).join(' ')
      : SHELLS.has(words[0] ?? '') && words[1] === '-c'
        ? words[2]
        : undefined
  if (inner !== undefined && depth < 3) {
    const split = splitShellCommand(inner)
    if (split.ok)
      for (const nested of split.parts) for (const form of commandForms(nested, depth + 1)) forms.add(form)
    else forms.add(inner.trim())
  }
  return [...forms]
}

const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh'])

export interface DeciderOptions {
  /** The rules in force, in order: CLI, session, then the settings'. */
  readonly entries: () => readonly Entry[]
  readonly mode: () => PermissionMode
  /** The workspace roots (real paths); the service adds to this array. */
  readonly roots: readonly string[]
  readonly cwd: string
  readonly projectDir: string
  readonly home: string
}

export class Decider {
  private readonly matchers = new Map<string, PathMatcher | null>()
  private readonly bashPatterns = new Map<string, BashPattern | null>()

  constructor(private readonly options: DeciderOptions) {}

  /**
   * The decision for a call: deny rules, plan mode, ask rules, allow rules, then the mode (the
   * dontAsk mode is the service's, on top of this).
   */
  decide(tool: ToolFacts, target: Target): PermissionDecision {
    const entries = this.options
      .entries()
      .filter((e) => e.parsed !== undefined && ruleNamesTool(e.parsed.toolName, tool))
    const byBehavior = (behavior: PermissionBehavior) => entries.filter((e) => e.rule.behavior === behavior)
    const deny = byBehavior('deny')
    const ask = byBehavior('ask')
    const allow = byBehavior('allow')

    const bareDeny = deny.find((e) => e.parsed?.content === undefined)
    if (bareDeny) return ruled('deny', `${tool.name} is denied by ${ruleLabel(bareDeny.rule)}`, bareDeny)
    if (target.kind === 'error') {
      return { behavior: 'deny', reason: `the ${tool.name} input could not be checked: ${target.message}` }
    }
    if (tool.name === 'Bash') {
      return this.decideBash(tool, target, deny, ask, allow)
    }

    // 1. deny rules
    let unsure: Entry | undefined
    for (const entry of deny) {
      const match = this.contentMatches(entry, tool, target, false)
      if (match === true) return this.denied(tool, target, entry)
      if (match === undefined) unsure ??= entry
    }
    // 2. plan mode
    const plan = this.planDenies(tool)
    if (plan) return plan
    if (unsure) {
      const reason = `${ruleLabel(unsure.rule)} cannot be checked against this ${tool.name} call (it gives no ${targetWord(tool)})`
      return ruled('ask', reason, unsure)
    }
    // 3. ask rules
    for (const entry of ask) {
      const match = this.contentMatches(entry, tool, target, false)
      if (match === true || match === undefined)
        return ruled('ask', `${describeCall(tool, target)} needs approval: ${ruleLabel(entry.rule)}`, entry)
    }
    // 4. allow rules
    for (const entry of allow) {
      if (this.contentMatches(entry, tool, target, true) === true)
        return ruled('allow', `${describeCall(tool, target)} is allowed by ${ruleLabel(entry.rule)}`, entry)
    }
    // 5. the mode
    return this.byMode(tool, target)
  }

  private denied(tool: ToolFacts, target: Target, entry: Entry): PermissionDecision {
    return ruled('deny', `${describeCall(tool, target)} is denied by ${ruleLabel(entry.rule)}`, entry)
  }

  private planDenies(tool: ToolFacts): PermissionDecision | undefined {
    if (this.options.mode() !== 'plan' || tool.readOnly) return undefined
    return {
      behavior: 'deny',
      reason: `plan mode is on: only read-only tools run, and ${tool.name} is not read-only. Finish the plan and present it; the user leaves plan mode to carry it out.`,
      mode: 'plan',
    }
  }

  private byMode(tool: ToolFacts, target: Target, hint?: string): PermissionDecision {
    const mode = this.options.mode()
    const call = describeCall(tool, target)
    if (mode === 'bypassPermissions') {
      return { behavior: 'allow', reason: `bypassPermissions mode allows ${call}`, mode }
    }
    const path = target.kind === 'value' && tool.access !== undefined ? this.pathOf(target.value) : undefined
    const inside =
      path === undefined
        ? undefined
        : this.options.roots.some((root) => path.real !== undefined && isInside(root, path.real))
    if (mode === 'acceptEdits' && tool.access === 'edit') {
      if (inside === true)
        return {
          behavior: 'allow',
          reason: `acceptEdits mode allows edits inside the workspace: ${call}`,
          mode,
        }
      return {
        behavior: 'ask',
        reason: `${call} needs approval: acceptEdits mode only allows edits inside the workspace (${this.options.roots.join(', ')})`,
        mode,
      }
    }
    if (tool.readOnly) {
      if (tool.openWorld) {
        const rule =
          tool.name === 'WebFetch' ? ` (a rule such as WebFetch(domain:${hostHint(target)}) allows it)` : ''
        return {
          behavior: 'ask',
          reason: `${call} reaches outside the workspace and needs approval${rule}`,
          mode,
        }
      }
      if (inside === false) {
        return {
          behavior: 'ask',
          reason: `${call} is outside the workspace (${this.options.roots.join(', ')}) and needs approval`,
          mode,
        }
      }
      return { behavior: 'allow', reason: `${call} is read-only, which ${mode} mode allows`, mode }
    }
    return {
      behavior: 'ask',
      reason: `${call} needs approval in ${mode} mode${hint ? `: ${hint}` : ''}`,
      mode,
    }
  }

  private decideBash(
    tool: ToolFacts,
    target: Target,
    deny: readonly Entry[],
    ask: readonly Entry[],
    allow: readonly Entry[],
  ): PermissionDecision {
    const plan = () => this.planDenies(tool)
    if (target.kind !== 'value') {
      const content =
        deny.find((e) => e.parsed?.content !== undefined) ?? ask.find((e) => e.parsed?.content !== undefined)
      const planned = plan()
      if (planned) return planned
      if (content)
        return ruled(
          'ask',
          `${ruleLabel(content.rule)} cannot be checked: this ${tool.name} call gives no command`,
          content,
        )
      return this.fromRulesThenMode(tool, target, ask, allow)
    }
    const command = target.value
    const whole = command.trim().replace(/\s+/g, ' ')
    const split = splitShellCommand(command)
    const parts = split.ok ? split.parts : []
    const forms = [whole, ...parts.flatMap(commandForms)]

    // 1. deny: any part, in any of its forms, or the whole command.
    const denied = this.firstMatch(deny, forms)
    if (denied) {
      const { entry, hit } = denied
      return ruled(
        'deny',
        `the command '${whole}'${partNote(hit, whole)} is denied by ${ruleLabel(entry.rule)}`,
        entry,
      )
    }
    // 2. plan mode
    const planned = plan()
    if (planned) return planned
    if (!split.ok) {
      const bareAsk = ask.find((e) => e.parsed?.content === undefined)
      return {
        behavior: 'ask',
        reason: `the command '${whole}' could not be checked part by part (${split.error}), so it needs approval`,
        ...(bareAsk ? { rule: bareAsk.rule } : {}),
      }
    }
    // 3. ask: any part or the whole command (a bare rule: every command).
    const asked = this.firstMatch(ask, forms)
    if (asked) {
      const { entry, hit } = asked
      return ruled(
        'ask',
        `the command '${whole}'${partNote(hit, whole)} needs approval: ${ruleLabel(entry.rule)}`,
        entry,
      )
    }
    // 4. allow: a bare rule, an exact rule for the whole command, or every part allowed.
    const bareAllow = allow.find((e) => e.parsed?.content === undefined)
    if (bareAllow)
      return ruled(
        'allow',
        `every ${tool.name} command is allowed by ${ruleLabel(bareAllow.rule)}`,
        bareAllow,
      )
    const substitution = parts.find((p) => p.substitution || p.complex)
    if (substitution === undefined && parts.length > 1) {
      const exact = allow.find((e) => this.bashPattern(e)?.exact === whole)
      if (exact) return ruled('allow', `the command '${whole}' is allowed by ${ruleLabel(exact.rule)}`, exact)
    }
    const covered: Array<{ part: ShellPart; entry: Entry }> = []
    let uncovered: ShellPart | undefined
    for (const part of parts) {
      const entry = allow.find((e) => this.bashPattern(e)?.test(part.text) === true)
      if (entry === undefined) {
        uncovered = part
        break
      }
      covered.push({ part, entry })
    }
    // A redirection that writes a file is an edit no prefix or wildcard rule vouches for; only an
    // exact rule that spells it out covers it.
    const writing = covered.find(
      (c) => c.part.writes.length > 0 && this.bashPattern(c.entry)?.exact !== c.part.text,
    )
    let hint: string | undefined
    if (parts.length === 0) hint = 'the command is empty'
    else if (uncovered !== undefined) {
      hint = parts.length > 1 ? `no allow rule covers the part '${uncovered.text}'` : undefined
    } else if (substitution !== undefined) {
      hint = substitution.substitution
        ? `'${substitution.text}' runs a command substitution ($(...) or backticks), which allow rules do not cover`
        : `'${substitution.text}' is a compound construct (for, case, a function), which allow rules do not cover`
    } else if (writing !== undefined) {
      hint = `'${writing.part.text}' writes to ${writing.part.writes.map((w) => `'${w}'`).join(', ')} through a redirection, which ${writing.entry.rule.text} does not cover`
    } else {
      const first = covered[0] as { part: ShellPart; entry: Entry }
      const reason =
        covered.length === 1
          ? `the command '${whole}' is allowed by ${ruleLabel(first.entry.rule)}`
          : `every part of '${whole}' is allowed: ${covered.map((c) => `'${c.part.text}' by ${c.entry.rule.text}`).join(', ')}`
      return { behavior: 'allow', reason, rule: first.entry.rule }
    }
    return this.byMode(tool, target, hint)
  }

  private fromRulesThenMode(
    tool: ToolFacts,
    target: Target,
    ask: readonly Entry[],
    allow: readonly Entry[],
  ): PermissionDecision {
    const bareAsk = ask.find((e) => e.parsed?.content === undefined)
    if (bareAsk) return ruled('ask', `${tool.name} needs approval: ${ruleLabel(bareAsk.rule)}`, bareAsk)
    const bareAllow = allow.find((e) => e.parsed?.content === undefined)
    if (bareAllow) return ruled('allow', `${tool.name} is allowed by ${ruleLabel(bareAllow.rule)}`, bareAllow)
    return this.byMode(tool, target)
  }

  /**
   * Whether a rule's specifier covers the call: true, false, or undefined when it cannot be
   * told (the call gives no target). `strict` is for allow rules (real paths only).
   */
  private contentMatches(
    entry: Entry,
    tool: ToolFacts,
    target: Target,
    strict: boolean,
  ): boolean | undefined {
    const parsed = entry.parsed
    if (parsed === undefined || entry.problem !== undefined) return false
    const content = parsed.content
    if (content === undefined) return true
    if (target.kind !== 'value') return undefined
    const name = parsed.toolName
    if (name.startsWith('mcp__')) return false
    if (PATH_RULE_TOOLS.has(name) || tool.access !== undefined) {
      const matcher = this.pathMatcher(content)
      if (matcher === null) return false
      const path = this.pathOf(target.value)
      return matcher.matches(path, strict)
    }
    if (name === NETWORK) {
      const test = compileDomainPattern(content)
      if (typeof test !== 'function') return false
      // The target is the host itself (`explain` passes the rule's own `domain:` text).
      return test(target.value.replace(/^domain:/, ''))
    }
    if (name === 'WebFetch') {
      const test = compileDomainPattern(content)
      if (typeof test !== 'function') return false
      const host = hostOf(target.value)
      return host === undefined ? undefined : test(host)
    }
    if (name === 'Bash')
      return this.bashPattern(entry)?.test(target.value.trim().replace(/\s+/g, ' ')) === true
    return compileWildcard(content)(target.value)
  }

  /**
   * The first of `entries` that matches the command, and the form it matched: `forms[0]` (the
   * whole command) for a bare rule, which covers every command.
   */
  private firstMatch(
    entries: readonly Entry[],
    forms: readonly string[],
  ): { entry: Entry; hit: string } | undefined {
    for (const entry of entries) {
      const hit = entry.parsed?.content === undefined ? forms[0] : this.matchedForm(entry, forms)
      if (hit !== undefined) return { entry, hit }
    }
    return undefined
  }

  /** The form of the command (the whole, or a part in one of its forms) a Bash rule matches. */
  private matchedForm(entry: Entry, forms: readonly string[]): string | undefined {
    const pattern = this.bashPattern(entry)
    return pattern === undefined ? undefined : forms.find((form) => pattern.test(form))
  }

  private bashPattern(entry: Entry): BashPattern | undefined {
    const content = entry.parsed?.content
    if (content === undefined || entry.parsed?.toolName !== 'Bash') return undefined
    let pattern = this.bashPatterns.get(content)
    if (pattern === undefined) {
      const compiled = compileBashPattern(content)
      pattern = 'problem' in compiled ? null : compiled
      this.bashPatterns.set(content, pattern)
    }
    return pattern ?? undefined
  }

  /** The matcher of a path rule's specifier (null: it is not a valid pattern), compiled once. */
  pathMatcher(content: string): PathMatcher | null {
    let matcher = this.matchers.get(content)
    if (matcher === undefined) {
      const parsed = parsePathPattern(content)
      if ('problem' in parsed) matcher = null
      else {
        const anchorDir = {
          root: '/',
          home: this.options.home,
          project: this.options.projectDir,
          cwd: this.options.cwd,
        }[parsed.anchor]
        matcher = new PathMatcher(resolve(anchorDir, ...parsed.literal), parsed.pattern)
      }
      this.matchers.set(content, matcher)
    }
    return matcher
  }

  private pathOf(value: string): { path: string; real: string | undefined } {
    const path = resolve(this.options.cwd, value)
    return { path, real: realPathOf(path) }
  }
}

/** The decision `entry`'s rule makes, and why. */
function ruled(behavior: PermissionBehavior, reason: string, entry: Entry): PermissionDecision {
  return { behavior, reason, rule: entry.rule }
}

/** Which part of the command a rule matched, when not the whole: ` (the part '...')`. */
function partNote(hit: string, whole: string): string {
  return hit === whole ? '' : ` (the part '${hit}')`
}

function describeCall(tool: ToolFacts, target: Target): string {
  if (target.kind !== 'value') return tool.name
  const value = target.value.length > 200 ? `${target.value.slice(0, 197)}...` : target.value
  return `${tool.name}(${value})`
}

function targetWord(tool: ToolFacts): string {
  if (tool.access !== undefined) return 'file path'
  if (tool.name === 'WebFetch') return 'URL'
  return 'target'
}

function hostHint(target: Target): string {
  return (target.kind === 'value' ? hostOf(target.value) : undefined) ?? 'example.com'
}
