/**
 * The built-in session commands (`/help`, `/clear`, `/model`, `/plan`, `/mode`, `/permissions`,
 * `/cost`, `/context`, `/compact`, `/resume`, `/exit`) as slash commands of the registry (source
 * `built-in`, listed first so no file shadows them). Each acts on the session of the
 * SessionController that runs it, through the CommandHost that controller binds to the context.
 */
import type { AgentSession, AgentSessionOptions } from '../agent/index.js'
import type { PermissionMode } from '../permissions/index.js'
import type { SessionService } from '../session/index.js'
import type { CommandContext, SlashCommand, SlashCommandList } from '../slash-commands/index.js'
import type { Tone } from './events.js'

/** What a built-in command needs of its controller. */
export interface CommandHost {
  readonly session: AgentSession
  readonly sessions: SessionService | undefined
  say(text: string, tone?: Tone): void
  /** A new agent session in place of the current one (keeping the mode). */
  replaceSession(changes: Partial<AgentSessionOptions>, what: string): Promise<void>
  setMode(mode: PermissionMode): void
  /** Tokens and cost of the runs so far. */
  usageText(): string
  /** Asks the user to pick one; undefined when cancelled or when the frontend cannot ask. */
  choose(title: string, options: ReadonlyArray<{ label: string; value: string }>): Promise<string | undefined>
  readonly canChoose: boolean
  commands(): Promise<SlashCommandList>
  /** Extra help rows of the frontend (the terminal's keys). */
  readonly helpExtra: ReadonlyArray<readonly [string, string]>
  updateContext(): Promise<void>
  exit(): void
}

const hosts = new WeakMap<CommandContext, CommandHost>()

/** Binds a command context to its controller (the controller does, for each command it runs). */
export function bindHost(context: CommandContext, host: CommandHost): CommandContext {
  hosts.set(context, host)
  return context
}

function hostOf(context: CommandContext): CommandHost {
  const host = hosts.get(context)
  if (!host) throw new Error('a built-in session command runs only through a SessionController')
  return host
}

export const MODES: readonly PermissionMode[] = ['default', 'acceptEdits', 'plan', 'bypassPermissions']

/** `/help` rows besides the commands: what the terminal and others show for `# text`. */
const MEMORY_HELP: readonly [string, string] = ['# text', 'remember text in the project TAU.md']

function formatTokens(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n)
}

function command(
  name: string,
  description: string,
  run: (args: string, host: CommandHost) => Promise<void> | void,
  argumentHint?: string,
): SlashCommand {
  return {
    name,
    description,
    source: 'built-in',
    ...(argumentHint ? { argumentHint } : {}),
    run: async (args, context) => run(args.trim(), hostOf(context)),
  }
}

async function help(host: CommandHost): Promise<void> {
  const listed = await host.commands()
  const rows: string[] = ['Commands']
  const entry = (name: string, text: string) => `  ${name.padEnd(18)} ${text}`
  for (const c of listed.commands) {
    const name = `/${c.name}${c.argumentHint ? ` ${c.argumentHint}` : ''}`
    rows.push(entry(name, c.source === 'built-in' ? c.description : `${c.description} (${c.source})`))
    if (c.name === 'resume') rows.push(entry(...MEMORY_HELP))
  }
  if (host.helpExtra.length > 0) {
    rows.push('Keys')
    for (const [name, text] of host.helpExtra) rows.push(entry(name, text))
  }
  host.say(rows.join('\n'))
}

function setMode(host: CommandHost, mode: string) {
  if (!host.session.permissions)
    return host.say('permission modes need the permissions plugin, which is not loaded')
  if (!MODES.includes(mode as PermissionMode)) return host.say(`usage: /mode ${MODES.slice(0, 3).join('|')}`)
  host.setMode(mode as PermissionMode)
}

function listPermissions(host: CommandHost) {
  const permissions = host.session.permissions
  if (!permissions)
    return host.say('no permissions service in this session: every call is allowed or denied by the agent')
  const rows = [`mode: ${permissions.mode}`]
  const rules = permissions.rules()
  if (rules.length === 0) rows.push('(no rules)')
  for (const rule of rules) {
    const where = rule.source.file ? `${rule.source.scope}: ${rule.source.file}` : rule.source.scope
    rows.push(`  ${rule.behavior.padEnd(5)} ${rule.text}  (${where})`)
  }
  host.say(rows.join('\n'))
  for (const problem of permissions.problems()) host.say(`  warning: ${problem.message}`, 'warn')
}

async function compact(host: CommandHost, focus: string): Promise<void> {
  const sessions = host.sessions
  if (!sessions) return host.say('/compact needs the session plugin, which is not loaded')
  host.say(focus === '' ? 'compacting…' : `compacting (focus: ${focus})…`, 'dim')
  const result = await sessions.compact(host.session.id, focus === '' ? undefined : focus)
  const parts = [`${result.tokensBefore} → ${result.tokensAfter} tokens`]
  parts.push(`${result.clearedResults} tool result${result.clearedResults === 1 ? '' : 's'} cleared`)
  parts.push(
    result.summarizedMessages === 0
      ? 'no summary needed'
      : `${result.summarizedMessages} message${result.summarizedMessages === 1 ? '' : 's'} summarised`,
  )
  host.say(`compacted: ${parts.join(', ')}`)
  await host.updateContext()
}

async function showContext(host: CommandHost): Promise<void> {
  const sessions = host.sessions
  if (!sessions) return host.say('/context needs the session plugin, which is not loaded')
  const count = await sessions.tokens(host.session.id)
  const window = count.window
  host.say(
    window === undefined
      ? `context: ${formatTokens(count.used)} tokens (the model's window is not known)`
      : `context: ${formatTokens(count.used)} of ${formatTokens(window)} tokens (${Math.round((100 * count.used) / window)}%)`,
  )
}

async function resume(host: CommandHost, id: string): Promise<void> {
  const sessions = host.sessions
  if (!sessions) return host.say('/resume needs the session plugin, which is not loaded')
  let target = id
  if (target === '') {
    const list = (await sessions.list()).filter((s) => s.id !== host.session.id && !s.subagentOf).slice(0, 9)
    if (list.length === 0) return host.say('no earlier sessions in this project')
    const options = list.map((s) => ({
      label: `${(s.title || '(no prompt)').slice(0, 60)} · ${s.turns} prompt${s.turns === 1 ? '' : 's'} · ${s.updatedAt.slice(0, 16).replace('T', ' ')}`,
      value: s.id,
    }))
    if (!host.canChoose) {
      host.say(
        ['Earlier sessions (/resume ID):', ...options.map((o) => `  ${o.value}  ${o.label}`)].join('\n'),
      )
      return
    }
    const picked = await host.choose('Resume which session?', options)
    if (picked === undefined) return
    target = picked
  }
  const plan = await sessions.resume(target)
  for (const warning of plan.warnings) host.say(`warning: ${warning}`, 'warn')
  await host.replaceSession({ ...plan.options }, `resumed session ${plan.options.id ?? target}`)
  await host.updateContext()
}

/** The built-in commands, in /help order. */
export function builtinCommands(): SlashCommand[] {
  return [
    command('help', 'this list', (_args, host) => help(host)),
    command('clear', 'start a new conversation', (_args, host) =>
      host.replaceSession({}, 'new conversation'),
    ),
    command(
      'model',
      'switch the model (provider:model), keeping the conversation',
      (args, host) => {
        if (args === '') return host.say(`model: ${host.session.model} (usage: /model REF)`)
        return host.replaceSession(
          { model: args, conversation: host.session.conversation, todos: host.session.todos },
          `model: ${args}`,
        )
      },
      'REF',
    ),
    command('plan', 'switch to plan mode (read-only tools)', (_args, host) => setMode(host, 'plan')),
    command(
      'mode',
      'default, acceptEdits, plan (Shift-Tab cycles)',
      (args, host) => setMode(host, args),
      'MODE',
    ),
    command('permissions', 'list the permission rules in force', (_args, host) => listPermissions(host)),
    command('cost', 'tokens and cost of this session', (_args, host) =>
      host.say(`session: ${host.usageText()}`),
    ),
    command('context', 'how full the context window is', (_args, host) => showContext(host)),
    command(
      'compact',
      'summarise the conversation so far to free context',
      (args, host) => compact(host, args),
      '[focus]',
    ),
    command(
      'resume',
      'go on with an earlier session of this project',
      (args, host) => resume(host, args),
      '[id]',
    ),
    command('exit', 'leave (also Ctrl-D, or Ctrl-C twice)', (_args, host) => host.exit()),
    command('quit', 'leave', (_args, host) => host.exit()),
  ]
}
