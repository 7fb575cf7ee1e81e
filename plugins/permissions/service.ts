/**
 * The permissions service: one per session (its mode, its CLI and session rules are its own),
 * built over what the config and the settings files say. decision.ts decides each call from
 * them (deny, plan mode, ask, allow, then the mode); rule-entries.ts is a rule as kept here.
 * Anything that cannot be checked (unparseable input, a command that is not valid shell, a target
 * the rules need but the tool does not give) is asked or denied, never allowed.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { didYouMean, type Logger, TauError } from '../../kernel/index.js'
import type { Tool, ToolRegistry } from '../tools/index.js'
import { Decider, type Target, type ToolFacts } from './decision.js'
import { PERMISSIONS_ERRORS } from './errors.js'
import { realPathOf } from './paths.js'
import { describeSource, type Entry, NETWORK, problemOf, toEntry } from './rule-entries.js'
import { PATH_RULE_TOOLS, type ParsedRule, parseRule, ruleNamesTool } from './rules.js'
import {
  type FileScope,
  type LoadedSettings,
  PERMISSION_MODES,
  type SettingsPaths,
  settingsFile,
} from './settings.js'
import { persistRule } from './settings-file.js'
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

// The name index.ts and commands.ts import it by.
export { describeSource } from './rule-entries.js'

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

export class SessionPermissions implements Permissions {
  private currentMode: PermissionMode
  private cliEntries: Entry[] = []
  private sessionEntries: Entry[] = []
  private readonly baseEntries: Entry[]
  private readonly roots: string[]
  private readonly home = homedir()
  private readonly decider: Decider

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
    this.decider = new Decider({
      entries: () => this.entries(),
      mode: () => this.currentMode,
      roots,
      cwd,
      projectDir: base.paths.projectDir,
      home: this.home,
    })
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
    const decision = this.decider.decide(facts, targetOf(tool, input))
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
    const decision = this.decider.decide(facts, {
      kind: 'value',
      value: host.toLowerCase().replace(/\.$/, ''),
    })
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
        const matcher = this.decider.pathMatcher(entry.parsed!.content!)
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
    const decision = this.decider.decide(
      facts,
      value === undefined ? { kind: 'none' } : { kind: 'value', value },
    )
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
