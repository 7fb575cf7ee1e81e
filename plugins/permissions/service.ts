/**
 * The permissions service: one per session (its mode, its CLI and session rules are its own),
 * built over what the config and the settings files say.
 *
 * decide(tool, input):
 *   1. deny rules (any part of a shell command, either the written or the real path) -> deny
 *   2. plan mode: a tool that is not read-only -> deny
 *   3. ask rules -> ask
 *   4. allow rules (every part of a shell command; the real path of a file) -> allow
 *   5. the mode: bypassPermissions -> allow; acceptEdits -> file edits inside the workspace;
 *      default (and plan) -> read-only tools inside the workspace; anything else -> ask.
 * Anything that cannot be checked (unparseable input, a command that is not valid shell, a target
 * the rules need but the tool does not give) is asked or denied, never allowed.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { didYouMean, type Logger, TauError } from '../../kernel/index.js'
import type { Tool, ToolRegistry } from '../tools/index.js'
import { PERMISSIONS_ERRORS } from './errors.js'
import { isInside, PathMatcher, realPathOf } from './paths.js'
import {
  type BashPattern,
  compileBashPattern,
  compileDomainPattern,
  compileWildcard,
  hostOf,
  PATH_RULE_TOOLS,
  type ParsedRule,
  parsePathPattern,
  parseRule,
  ruleNamesTool,
} from './rules.js'
import {
  type FileScope,
  type LoadedSettings,
  PERMISSION_MODES,
  persistRule,
  type SettingsPaths,
  settingsFile,
} from './settings.js'
import { type ShellPart, splitShellCommand } from './shell-split.js'
import type {
  CliRules,
  PermissionBehavior,
  PermissionDecision,
  PermissionMode,
  PermissionProblem,
  PermissionRule,
  Permissions,
  RuleSource,
} from './types.js'

/** What decide() needs to know about a tool. */
interface ToolFacts {
  readonly name: string
  readonly readOnly: boolean
  readonly openWorld: boolean
  readonly access: 'read' | 'edit' | undefined
}

type Target =
  | { readonly kind: 'none' }
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'error'; readonly message: string }

/** Claude Code's built-in tools, for `explain` when no tool registry is loaded. */
const KNOWN_TOOLS: Record<string, Omit<ToolFacts, 'name'>> = {
  Read: { readOnly: true, openWorld: false, access: 'read' },
  Glob: { readOnly: true, openWorld: false, access: 'read' },
  Grep: { readOnly: true, openWorld: false, access: 'read' },
  LS: { readOnly: true, openWorld: false, access: 'read' },
  Edit: { readOnly: false, openWorld: false, access: 'edit' },
  MultiEdit: { readOnly: false, openWorld: false, access: 'edit' },
  Write: { readOnly: false, openWorld: false, access: 'edit' },
  NotebookEdit: { readOnly: false, openWorld: false, access: 'edit' },
  Bash: { readOnly: false, openWorld: false, access: undefined },
  WebFetch: { readOnly: true, openWorld: true, access: undefined },
  WebSearch: { readOnly: true, openWorld: true, access: undefined },
  AskUserQuestion: { readOnly: true, openWorld: false, access: undefined },
  // Not a tool: a sandboxed process reaching a host (the sandbox's network allowlist asks).
  Network: { readOnly: false, openWorld: true, access: undefined },
}

/** The name `Network(domain:...)` rules use; decideNetwork() decides them. */
const NETWORK = 'Network'

/** What sessions share: the loaded settings, rules persisted since, and the plugin's context. */
export class PermissionsBase {
  /** Rules written to settings files by addRule({ persist }) since setup; sessions created later see them. */
  private readonly persisted: PermissionRule[] = []

  constructor(
    /** The settings in force now: they change once when the workspace becomes trusted. */
    private readonly current: () => LoadedSettings,
    readonly paths: SettingsPaths & { readonly cwd: string },
    readonly logger: Logger,
    readonly registry: () => ToolRegistry | undefined,
  ) {}

  get settings(): LoadedSettings {
    return this.current()
  }

  rules(): PermissionRule[] {
    return [...this.persisted, ...this.settings.rules]
  }

  addPersisted(rule: PermissionRule): void {
    this.persisted.unshift(rule)
  }
}

interface Entry {
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

const ruleLabel = (rule: PermissionRule) =>
  `the ${rule.behavior} rule ${rule.text} from ${describeSource(rule.source)}`

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

export class SessionPermissions implements Permissions {
  private currentMode: PermissionMode
  private cliEntries: Entry[] = []
  private sessionEntries: Entry[] = []
  private readonly baseEntries: Entry[]
  private readonly roots: string[]
  private readonly matchers = new Map<string, PathMatcher | null>()
  private readonly bashPatterns = new Map<string, BashPattern | null>()
  private readonly home = homedir()

  constructor(
    private readonly base: PermissionsBase,
    readonly cwd: string,
  ) {
    this.currentMode = base.settings.defaultMode
    this.baseEntries = base.rules().map(toEntry)
    const roots: string[] = []
    for (const dir of [cwd, base.paths.projectDir, ...base.settings.additionalDirectories]) {
      const real = realPathOf(dir) ?? dir
      if (!roots.includes(real)) roots.push(real)
    }
    this.roots = roots
  }

  get mode(): PermissionMode {
    return this.currentMode
  }

  get directories(): readonly string[] {
    return this.roots
  }

  setMode(mode: PermissionMode): void {
    if (!(PERMISSION_MODES as readonly string[]).includes(mode)) {
      throw new TypeError(
        `'${String(mode)}' is not a permission mode: use one of ${PERMISSION_MODES.join(', ')}`,
      )
    }
    if (mode === 'bypassPermissions' && this.base.settings.bypassDisabled) {
      const by = this.base.settings.bypassDisabledBy
      const where = by === undefined ? '' : ` in ${describeSource(by)}`
      throw new TauError(
        PERMISSIONS_ERRORS.TAU_PERMISSION_MODE_DISABLED,
        by?.scope === 'managed'
          ? `bypassPermissions mode (--dangerously-skip-permissions) is forbidden by policy: disableBypassPermissionsMode is 'disable'${where}`
          : `bypassPermissions mode is disabled by disableBypassPermissionsMode: 'disable'${where}`,
        { plugin: 'permissions', ...(by?.file ? { file: by.file } : {}) },
      )
    }
    this.currentMode = mode
  }

  rules(): readonly PermissionRule[] {
    return this.entries().map((e) => e.rule)
  }

  problems(): readonly PermissionProblem[] {
    return this.findProblems(this.base.registry())
  }

  /** Problems found with the given registry (none: only what the rules' text tells). */
  findProblems(registry: ToolRegistry | undefined): PermissionProblem[] {
    const out: PermissionProblem[] = [...this.base.settings.problems]
    const entries = this.entries()
    for (const entry of entries) {
      const message = entry.problem ?? this.toolProblem(entry, registry)
      if (message !== undefined) out.push(problemOf(entry.rule, message))
    }
    // The same rule at a stricter level: the weaker one never takes effect.
    for (const entry of entries) {
      if (entry.rule.behavior === 'deny') continue
      const stricter = entries.find(
        (other) =>
          other.rule.text.trim() === entry.rule.text.trim() &&
          (other.rule.behavior === 'deny' ||
            (other.rule.behavior === 'ask' && entry.rule.behavior === 'allow')),
      )
      if (stricter) {
        out.push(
          problemOf(
            entry.rule,
            `never takes effect: the same rule is a ${stricter.rule.behavior} rule in ${describeSource(stricter.rule.source)}, and ${stricter.rule.behavior} wins`,
          ),
        )
      }
    }
    return out
  }

  setCliRules(rules: CliRules): void {
    const entries: Entry[] = []
    const policy = this.base.settings.managedRulesOnly
    for (const behavior of ['deny', 'ask', 'allow'] as const) {
      // Only managed rules may widen; --disallowed-tools (and a subagent's hidden tools) only narrow.
      if (policy !== undefined && behavior === 'allow' && (rules.allow?.length ?? 0) > 0) {
        this.base.logger.warn(
          `--allowed-tools ${rules.allow!.join(' ')} ignored by policy: allowManagedPermissionRulesOnly in ${policy} lets only managed rules count`,
        )
        continue
      }
      for (const text of rules[behavior] ?? []) {
        const entry = toEntry({ text, behavior, source: { scope: 'cli' } })
        if (entry.parsed === undefined) {
          throw new TauError(
            'TAU_CLI_USAGE',
            `${behavior === 'deny' ? '--disallowed-tools' : '--allowed-tools'}: '${text}' is not a permission rule: ${entry.problem}`,
          )
        }
        entries.push(entry)
      }
    }
    this.cliEntries = entries
    this.report(entries)
  }

  async addRule(
    text: string,
    behavior: PermissionBehavior,
    options: { persist?: 'local' | 'project' | 'user' } = {},
  ): Promise<void> {
    if (behavior !== 'allow' && behavior !== 'ask' && behavior !== 'deny') {
      throw new TypeError(`'${String(behavior)}' is not a rule behavior: use allow, ask or deny`)
    }
    const parsed = parseRule(text)
    if (!parsed.ok) throw new TypeError(`'${text}' is not a permission rule: ${parsed.message}`)
    const policy = this.base.settings.managedRulesOnly
    if (policy !== undefined && behavior === 'allow') {
      // The answer that asked for it still counts once; "always" does not outlive it.
      this.base.logger.warn(
        `the ${behavior} rule ${text.trim()} was not added: allowManagedPermissionRulesOnly in ${policy} lets only managed rules count`,
      )
      return
    }
    let source: RuleSource = { scope: 'session' }
    if (options.persist !== undefined) {
      const scope: FileScope = options.persist
      const file = settingsFile(scope, this.base.paths)
      await persistRule(file, behavior, text.trim())
      source = { scope, file }
      this.base.addPersisted({ text: text.trim(), behavior, source })
    }
    const entry = toEntry({ text: text.trim(), behavior, source })
    this.sessionEntries.unshift(entry)
    this.report([entry])
  }

  decide(tool: Tool, input: unknown): PermissionDecision {
    if (typeof tool !== 'object' || tool === null || typeof tool.name !== 'string') {
      return { behavior: 'deny', reason: 'the tool call names no valid tool, so it cannot be checked' }
    }
    // Untrusted annotations (an MCP server's hints) never make a tool read-only here: a server
    // could call anything read-only, so its tools need an allow rule, as in Claude Code.
    const trusted = tool.annotationsTrusted !== false
    const facts: ToolFacts = {
      name: tool.name,
      readOnly: trusted && tool.annotations?.readOnly === true,
      openWorld: !trusted || tool.annotations?.openWorld === true,
      access: tool.access === 'read' || tool.access === 'edit' ? tool.access : undefined,
    }
    const decision = this.decideFor(facts, targetOf(tool, input))
    // dontAsk (Claude Code's): what would be asked is denied; only what rules allow runs.
    if (decision.behavior === 'ask' && this.currentMode === 'dontAsk') {
      return {
        ...decision,
        behavior: 'deny',
        reason: `dontAsk mode denies what no rule allows: ${decision.reason}`,
      }
    }
    return decision
  }

  decideNetwork(host: string): PermissionDecision {
    const facts: ToolFacts = { name: NETWORK, ...KNOWN_TOOLS[NETWORK]! }
    const decision = this.decideFor(facts, { kind: 'value', value: host.toLowerCase().replace(/\.$/, '') })
    if (decision.behavior === 'ask' && this.currentMode === 'dontAsk') {
      return {
        ...decision,
        behavior: 'deny',
        reason: `dontAsk mode denies what no rule allows: ${decision.reason}`,
      }
    }
    return decision
  }

  ruleDenial(tool: Tool, input: unknown): PermissionDecision | undefined {
    const decision = this.decide(tool, input)
    return decision.behavior === 'deny' && decision.rule?.behavior === 'deny' ? decision : undefined
  }

  addDirectories(dirs: readonly string[]): void {
    for (const dir of dirs) {
      const real = realPathOf(dir) ?? dir
      if (!this.roots.includes(real)) this.roots.push(real)
    }
  }

  pathDenial(tool: Tool): ((path: string) => boolean) | undefined {
    if (typeof tool !== 'object' || tool === null || (tool.access !== 'read' && tool.access !== 'edit')) {
      return undefined
    }
    const facts: ToolFacts = { name: tool.name, readOnly: false, openWorld: false, access: tool.access }
    const deny = this.entries().filter(
      (e) =>
        e.rule.behavior === 'deny' &&
        e.parsed !== undefined &&
        e.parsed.content !== undefined &&
        ruleNamesTool(e.parsed.toolName, facts),
    )
    if (deny.length === 0) return undefined
    return (path) => {
      // The walks hand over real paths (they start at a resolved directory and never follow a
      // link), so the path is its own real path: no realpath call per file.
      const target = { path, real: path }
      return deny.some((entry) => {
        const matcher = this.pathMatcher(entry.parsed!.content!)
        return matcher !== null && entry.problem === undefined && matcher.matches(target, false)
      })
    }
  }

  explain(call: string): PermissionDecision {
    const parsed = parseRule(call)
    if (!parsed.ok) {
      return { behavior: 'deny', reason: `'${call}' is not a tool call written as a rule: ${parsed.message}` }
    }
    const { toolName, content } = parsed.rule
    const registered = this.base.registry()?.get(toolName)
    const known = KNOWN_TOOLS[toolName]
    const facts: ToolFacts = registered
      ? {
          name: toolName,
          readOnly: registered.annotationsTrusted !== false && registered.annotations?.readOnly === true,
          openWorld: registered.annotationsTrusted === false || registered.annotations?.openWorld === true,
          access: registered.access,
        }
      : known
        ? { name: toolName, ...known }
        : {
            name: toolName,
            readOnly: false,
            openWorld: false,
            access: undefined,
          }
    let value = content
    if (value !== undefined && (facts.access !== undefined || PATH_RULE_TOOLS.has(toolName))) {
      if (value === '~' || value.startsWith('~/')) value = `${this.home}${value.slice(1)}`
      else if (value.startsWith('//')) value = value.slice(1)
    }
    const decision = this.decideFor(facts, value === undefined ? { kind: 'none' } : { kind: 'value', value })
    if (registered || known) return decision
    return { ...decision, reason: `${decision.reason} (no tool named '${toolName}' is registered)` }
  }

  // -------------------------------------------------------------------------------------------

  private entries(): Entry[] {
    return [...this.cliEntries, ...this.sessionEntries, ...this.baseEntries]
  }

  private report(entries: readonly Entry[]): void {
    const registry = this.base.registry()
    for (const entry of entries) {
      const message = entry.problem ?? this.toolProblem(entry, registry)
      if (message !== undefined) {
        this.base.logger.warn(
          `permission rule ${entry.rule.text} (${describeSource(entry.rule.source)}): ${message}`,
        )
      }
    }
  }

  /** A rule naming a tool that is not registered, or giving a specifier to a tool that takes none. */
  private toolProblem(entry: Entry, registry: ToolRegistry | undefined): string | undefined {
    const parsed = entry.parsed
    if (parsed === undefined) return undefined
    const pitfall = this.absolutePathPitfall(parsed)
    if (pitfall !== undefined) return pitfall
    if (registry === undefined) return undefined
    const name = parsed.toolName
    // MCP servers connect later (and may list tools at any time): their names are not checked.
    if (name.startsWith('mcp__') || name === NETWORK) return undefined
    const tools = registry.list()
    const tool = tools.find((t) => t.name === name)
    if (tool === undefined) {
      if (name === 'Read' && tools.some((t) => t.access === 'read')) return undefined
      if (name === 'Edit' && tools.some((t) => t.access === 'edit')) return undefined
      return `no tool named '${name}' is registered, so this rule never matches${didYouMean(
        name,
        tools.map((t) => t.name),
      )}`
    }
    if (
      parsed.content !== undefined &&
      typeof tool.permissionTarget !== 'function' &&
      !PATH_RULE_TOOLS.has(name) &&
      name !== 'Bash' &&
      name !== 'WebFetch'
    ) {
      return `${name} takes no specifier, so ${entry.rule.text} never matches; write '${name}' to match every use`
    }
    return undefined
  }

  /**
   * `Read(/etc/hosts)` is relative to the project root, as in Claude Code; `//etc/hosts` is the
   * absolute path. Warned when the first folder exists at the root and not in the project.
   */
  private absolutePathPitfall(parsed: ParsedRule): string | undefined {
    const content = parsed.content
    if (content === undefined || !PATH_RULE_TOOLS.has(parsed.toolName)) return undefined
    if (!content.startsWith('/') || content.startsWith('//')) return undefined
    const first = content.slice(1).split('/')[0]
    if (!first || /[*?[\\]/.test(first)) return undefined
    if (!existsSync(join('/', first)) || existsSync(join(this.base.paths.projectDir, first))) return undefined
    return `'${content}' is relative to the project root (${join(this.base.paths.projectDir, content)}), so it never matches ${join('/', content)}; write '${parsed.toolName}(/${content})' for the absolute path`
  }

  private decideFor(tool: ToolFacts, target: Target): PermissionDecision {
    const entries = this.entries().filter(
      (e) => e.parsed !== undefined && ruleNamesTool(e.parsed.toolName, tool),
    )
    const byBehavior = (behavior: PermissionBehavior) => entries.filter((e) => e.rule.behavior === behavior)
    const deny = byBehavior('deny')
    const ask = byBehavior('ask')
    const allow = byBehavior('allow')

    const bareDeny = deny.find((e) => e.parsed?.content === undefined)
    if (bareDeny)
      return {
        behavior: 'deny',
        reason: `${tool.name} is denied by ${ruleLabel(bareDeny.rule)}`,
        rule: bareDeny.rule,
      }
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
      return {
        behavior: 'ask',
        reason: `${ruleLabel(unsure.rule)} cannot be checked against this ${tool.name} call (it gives no ${targetWord(tool)})`,
        rule: unsure.rule,
      }
    }
    // 3. ask rules
    for (const entry of ask) {
      const match = this.contentMatches(entry, tool, target, false)
      if (match === true || match === undefined) {
        return {
          behavior: 'ask',
          reason: `${describeCall(tool, target)} needs approval: ${ruleLabel(entry.rule)}`,
          rule: entry.rule,
        }
      }
    }
    // 4. allow rules
    for (const entry of allow) {
      if (this.contentMatches(entry, tool, target, true) === true) {
        return {
          behavior: 'allow',
          reason: `${describeCall(tool, target)} is allowed by ${ruleLabel(entry.rule)}`,
          rule: entry.rule,
        }
      }
    }
    // 5. the mode
    return this.byMode(tool, target)
  }

  private denied(tool: ToolFacts, target: Target, entry: Entry): PermissionDecision {
    return {
      behavior: 'deny',
      reason: `${describeCall(tool, target)} is denied by ${ruleLabel(entry.rule)}`,
      rule: entry.rule,
    }
  }

  private planDenies(tool: ToolFacts): PermissionDecision | undefined {
    if (this.currentMode !== 'plan' || tool.readOnly) return undefined
    return {
      behavior: 'deny',
      reason: `plan mode is on: only read-only tools run, and ${tool.name} is not read-only. Finish the plan and present it; the user leaves plan mode to carry it out.`,
      mode: 'plan',
    }
  }

  private byMode(tool: ToolFacts, target: Target, hint?: string): PermissionDecision {
    const mode = this.currentMode
    const call = describeCall(tool, target)
    if (mode === 'bypassPermissions') {
      return { behavior: 'allow', reason: `bypassPermissions mode allows ${call}`, mode }
    }
    const path = target.kind === 'value' && tool.access !== undefined ? this.pathOf(target.value) : undefined
    const inside =
      path === undefined
        ? undefined
        : this.roots.some((root) => path.real !== undefined && isInside(root, path.real))
    if (mode === 'acceptEdits' && tool.access === 'edit') {
      if (inside === true)
        return {
          behavior: 'allow',
          reason: `acceptEdits mode allows edits inside the workspace: ${call}`,
          mode,
        }
      return {
        behavior: 'ask',
        reason: `${call} needs approval: acceptEdits mode only allows edits inside the workspace (${this.roots.join(', ')})`,
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
          reason: `${call} is outside the workspace (${this.roots.join(', ')}) and needs approval`,
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
      if (content) {
        return {
          behavior: 'ask',
          reason: `${ruleLabel(content.rule)} cannot be checked: this ${tool.name} call gives no command`,
          rule: content.rule,
        }
      }
      return this.fromRulesThenMode(tool, target, ask, allow)
    }
    const command = target.value
    const whole = command.trim().replace(/\s+/g, ' ')
    const split = splitShellCommand(command)
    const parts = split.ok ? split.parts : []
    const forms = [whole, ...parts.flatMap(commandForms)]

    // 1. deny: any part, in any of its forms, or the whole command.
    for (const entry of deny) {
      const pattern = this.bashPattern(entry)
      if (pattern === undefined) continue
      const hit = forms.find((form) => pattern.test(form))
      if (hit !== undefined) {
        const which = hit === whole ? '' : ` (the part '${hit}')`
        return {
          behavior: 'deny',
          reason: `the command '${whole}'${which} is denied by ${ruleLabel(entry.rule)}`,
          rule: entry.rule,
        }
      }
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
    // 3. ask: any part or the whole command.
    for (const entry of ask) {
      if (entry.parsed?.content === undefined) {
        return {
          behavior: 'ask',
          reason: `the command '${whole}' needs approval: ${ruleLabel(entry.rule)}`,
          rule: entry.rule,
        }
      }
      const pattern = this.bashPattern(entry)
      if (pattern === undefined) continue
      const hit = forms.find((form) => pattern.test(form))
      if (hit !== undefined) {
        const which = hit === whole ? '' : ` (the part '${hit}')`
        return {
          behavior: 'ask',
          reason: `the command '${whole}'${which} needs approval: ${ruleLabel(entry.rule)}`,
          rule: entry.rule,
        }
      }
    }
    // 4. allow: a bare rule, an exact rule for the whole command, or every part allowed.
    const bareAllow = allow.find((e) => e.parsed?.content === undefined)
    if (bareAllow) {
      return {
        behavior: 'allow',
        reason: `every ${tool.name} command is allowed by ${ruleLabel(bareAllow.rule)}`,
        rule: bareAllow.rule,
      }
    }
    const substitution = parts.find((p) => p.substitution || p.complex)
    if (substitution === undefined && parts.length > 1) {
      const exact = allow.find((e) => this.bashPattern(e)?.exact === whole)
      if (exact) {
        return {
          behavior: 'allow',
          reason: `the command '${whole}' is allowed by ${ruleLabel(exact.rule)}`,
          rule: exact.rule,
        }
      }
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
    if (bareAsk)
      return {
        behavior: 'ask',
        reason: `${tool.name} needs approval: ${ruleLabel(bareAsk.rule)}`,
        rule: bareAsk.rule,
      }
    const bareAllow = allow.find((e) => e.parsed?.content === undefined)
    if (bareAllow)
      return {
        behavior: 'allow',
        reason: `${tool.name} is allowed by ${ruleLabel(bareAllow.rule)}`,
        rule: bareAllow.rule,
      }
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

  private pathMatcher(content: string): PathMatcher | null {
    let matcher = this.matchers.get(content)
    if (matcher === undefined) {
      const parsed = parsePathPattern(content)
      if ('problem' in parsed) matcher = null
      else {
        const anchorDir = {
          root: '/',
          home: this.home,
          project: this.base.paths.projectDir,
          cwd: this.cwd,
        }[parsed.anchor]
        matcher = new PathMatcher(resolve(anchorDir, ...parsed.literal), parsed.pattern)
      }
      this.matchers.set(content, matcher)
    }
    return matcher
  }

  private pathOf(value: string): { path: string; real: string | undefined } {
    const path = resolve(this.cwd, value)
    return { path, real: realPathOf(path) }
  }
}

function toEntry(rule: PermissionRule): Entry {
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

function problemOf(rule: PermissionRule, message: string): PermissionProblem {
  return { rule: rule.text, behavior: rule.behavior, source: rule.source, message }
}

function targetOf(tool: Tool, input: unknown): Target {
  let value = input
  const validated = validateSync(tool, input)
  if (validated.kind === 'error') return validated
  if (validated.kind === 'value') value = validated.value
  if (typeof tool.permissionTarget !== 'function') return { kind: 'none' }
  let target: unknown
  try {
    target = tool.permissionTarget(value)
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) }
  }
  if (target === undefined) return { kind: 'none' }
  if (typeof target !== 'string') {
    return { kind: 'error', message: `its permission target is ${typeof target}, not a string` }
  }
  return { kind: 'value', value: target }
}

/** Validates the input with the tool's schema when that can be done synchronously. */
function validateSync(
  tool: Tool,
  input: unknown,
): { kind: 'value'; value: unknown } | { kind: 'error'; message: string } | { kind: 'skip' } {
  const standard = tool.input?.['~standard']
  if (standard === undefined || typeof standard.validate !== 'function') return { kind: 'skip' }
  let result: ReturnType<typeof standard.validate>
  try {
    result = standard.validate(input)
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) }
  }
  if (result instanceof Promise) {
    result.catch(() => undefined)
    return { kind: 'skip' }
  }
  if (result.issues !== undefined) {
    const first = result.issues[0]
    const where = first?.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') ?? ''
    return {
      kind: 'error',
      message: `the input does not match its schema${where ? ` at ${where}` : ''}: ${first?.message ?? 'invalid'}`,
    }
  }
  return { kind: 'value', value: result.value }
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
