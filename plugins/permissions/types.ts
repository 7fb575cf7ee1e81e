/**
 * Permissions: who may run which tool with which input. Rules use Claude Code's syntax
 * (`Bash(npm test:*)`, `Read(./src/**)`, `Edit(docs/**)`, `WebFetch(domain:example.com)`,
 * `mcp__server__tool`), come from tau.config.ts and the settings files, and are decided
 * deny > ask > allow. Anything a rule or mode does not allow is asked; with nobody to ask
 * (headless), it is denied — permissions fail closed.
 */
import { defineService } from '../../kernel/index.js'
import type { Tool } from '../tools/index.js'

/** Claude Code's modes; `dontAsk` denies whatever would be asked. */
export type PermissionMode = 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions' | 'dontAsk'
export type PermissionBehavior = 'allow' | 'deny' | 'ask'

/** Where a rule came from, so `tau permissions explain` can say which file made a decision. */
export interface RuleSource {
  /** `managed` (an administrator's policy file), `config` (tau.config.ts), `project` (.tau/settings.json), `local` (.tau/settings.local.json),
   *  `user` (~/.tau/settings.json), `cli` (--allowed-tools ...), `session` (allowed during this session). */
  readonly scope: 'managed' | 'config' | 'project' | 'local' | 'user' | 'cli' | 'session'
  readonly file?: string
}

export interface PermissionRule {
  /** As written: `Bash(npm test:*)`. */
  readonly text: string
  readonly behavior: PermissionBehavior
  readonly source: RuleSource
}

export interface PermissionDecision {
  readonly behavior: PermissionBehavior
  /** Why, in words the model and the user can read. */
  readonly reason: string
  /** The rule that decided, when one did (else the mode or the default decided). */
  readonly rule?: PermissionRule
  /** The mode that decided, when no rule did (absent when the input itself decided: malformed input). */
  readonly mode?: PermissionMode
}

/**
 * A rule that can never match, or a settings entry that was ignored: reported when config loads
 * (logged as a warning) and by `tau permissions list`.
 */
export interface PermissionProblem {
  /** The rule as written, when the problem is about a rule. */
  readonly rule?: string
  readonly behavior?: PermissionBehavior
  readonly source: RuleSource
  readonly message: string
}

/** Rules given on the command line (`--allowed-tools`, `--disallowed-tools`), as rule texts. */
export interface CliRules {
  readonly allow?: readonly string[]
  readonly ask?: readonly string[]
  readonly deny?: readonly string[]
}

export interface Permissions {
  readonly mode: PermissionMode
  setMode(mode: PermissionMode): void
  /** The decision for one tool call (before asking anyone). */
  decide(tool: Tool, input: unknown): PermissionDecision
  /**
   * The decision when a deny rule refuses the call, else undefined. The agent asks it before the
   * preToolUse hooks: a call a deny rule refuses never reaches them (as in Claude Code).
   */
  ruleDenial?(tool: Tool, input: unknown): PermissionDecision | undefined
  /**
   * Allows (or denies) from now on in this session; with `persist`, also writes the rule to a
   * settings file (`local`: .tau/settings.local.json, the "allow always" of a prompt).
   */
  addRule(
    text: string,
    behavior: PermissionBehavior,
    options?: { persist?: 'local' | 'project' | 'user' },
  ): Promise<void>
  /**
   * The session's deny rules that cover `tool`'s file access (a `Read(...)` rule for Grep, Glob
   * and LS), as a test over absolute real paths; undefined when no such rule exists. The search
   * tools leave out whatever it covers, whatever the search root: a denied path is neither
   * searched, nor listed, nor counted. Optional for other implementations; without it, only
   * decide() applies.
   */
  pathDenial?(tool: Tool): ((path: string) => boolean) | undefined
  /**
   * A sandboxed process asks for a host the sandbox's allowlist does not name: the decision from
   * `Network(domain:...)` rules (deny, then ask, then allow), else the mode (asks; bypassPermissions
   * allows; plan and dontAsk deny). Optional for other implementations; without it, the host is asked.
   */
  decideNetwork?(host: string): PermissionDecision
  /** For `tau permissions explain 'Bash(rm -rf build)'`: the decision for a call written as a rule. */
  explain(call: string): PermissionDecision
  /** Every rule in force: CLI, session, then settings files and config (local, project, config, user). */
  rules(): readonly PermissionRule[]
  /** Rules that can never match and ignored settings; empty when all is well. */
  problems(): readonly PermissionProblem[]
  /**
   * Sets this session's command-line rules (the headless frontend's `--allowed-tools` and
   * `--disallowed-tools`; use parseRuleList() to split a flag's value), replacing earlier ones.
   * Throws a TauError (TAU_CLI_USAGE) naming the rule when one is not valid rule syntax.
   */
  setCliRules(rules: CliRules): void
  /** More workspace directories for this session (`--add-dir`); relative paths are the caller's to resolve. */
  addDirectories?(dirs: readonly string[]): void
  /** The workspace, as real absolute paths: the session cwd, the project dir, additionalDirectories. */
  readonly directories: readonly string[]
}

/** Per session: the mode and session-granted rules are the session's own. */
export const permissionsRef = defineService<Permissions, 'session'>('permissions.service', {
  scope: 'session',
  description: 'Decides each tool call: allow, deny or ask.',
})
