/**
 * One ACP session: a SessionController (the session logic every frontend shares) with the
 * editor as its frontend. Controller events become `session/update` notifications, sent in order
 * through one outbox; tau's questions (a tool call's permission, a plan's approval) become
 * `session/request_permission`; the session's environment reads, writes and runs commands
 * through the client when it offers to (client-environment.ts).
 */
import type {
  AgentContext,
  AvailableCommand,
  ClientCapabilities,
  ContentBlock,
  PermissionOption,
  PromptResponse,
  SessionModeState,
  SessionUpdate,
  StopReason,
} from '@agentclientprotocol/sdk'
import type { Logger } from '../../kernel/index.js'
import type {
  AgentEvent,
  AgentSessionOptions,
  PermissionAnswer,
  PermissionRequest,
  PlanApproval,
  PlanApprovalRequest,
  StopReason as TauStopReason,
} from '../agent/index.js'
import type { Environment } from '../sandbox/index.js'
import type { ControllerEvent, SessionController, SessionControllers } from '../session-controller/index.js'
import { askQuestionsInEditor } from './ask-questions.js'
import {
  ClientEnvironment,
  type ClientSide,
  type TerminalOutcome,
  type TerminalRun,
} from './client-environment.js'
import type { AcpConfig } from './config.js'
import { finishedContent, proposedContent, toolKind, toolLocations, toolTitle } from './tool-calls.js'

/** The modes an editor can switch between (bypassPermissions only shows when it is in force). */
const MODES = [
  { id: 'default', name: 'Default', description: 'Asks before edits and commands' },
  { id: 'acceptEdits', name: 'Accept edits', description: 'File edits in the workspace without asking' },
  { id: 'plan', name: 'Plan', description: 'Read-only: explores and plans, changes nothing' },
] as const

/** Commands that make no sense inside an editor's chat. */
const HIDDEN_COMMANDS = new Set(['exit', 'quit'])

/** The largest terminal output tau asks the client to keep (Bash cuts its own in the middle). */
const TERMINAL_OUTPUT_BYTES = 1_000_000

const STOP_REASONS: Readonly<Record<TauStopReason, StopReason>> = {
  'end-turn': 'end_turn',
  'max-turns': 'max_turn_requests',
  'token-budget': 'max_tokens',
  'cost-budget': 'max_turn_requests',
  timeout: 'max_turn_requests',
  aborted: 'cancelled',
  blocked: 'refusal',
  'hook-stopped': 'end_turn',
  error: 'end_turn',
}

interface Turn {
  cancelled: boolean
  stopReason?: StopReason
  error?: string
}

export interface AcpSessionDeps {
  readonly controllers: SessionControllers
  readonly client: AgentContext
  readonly capabilities: ClientCapabilities
  readonly config: AcpConfig
  readonly logger: Logger
  readonly sessionOptions: AgentSessionOptions
}

/** A failed turn: the prompt request answers with this error. */
export class TurnFailed extends Error {}

export class AcpSession {
  readonly controller: SessionController
  /** The ACP session id: the tau session's at the start (it stays when /clear replaces that). */
  readonly id: string
  private outbox: Promise<void> = Promise.resolve()
  private readonly calls = new Map<string, { readonly name: string; readonly input: unknown }>()
  private readonly terminals = new Map<string, string>()
  /** The Bash call running now (calls that change things run one at a time). */
  private runningBash: string | undefined
  private turn: Turn | undefined
  private mode: string | undefined
  private closed = false

  constructor(private readonly deps: AcpSessionDeps) {
    this.controller = deps.controllers.create({
      sessionOptions: {
        ...deps.sessionOptions,
        wrapEnvironment: (environment) => this.environment(environment),
      },
      frontend: {
        askPermission: (request) => this.askPermission(request),
        approvePlan: (request) => this.approvePlan(request),
        askQuestions: async (request) => {
          await this.outbox // the tool call is on the editor's screen before its questions
          return askQuestionsInEditor(this.deps.client, this.id, request, this.deps.logger)
        },
      },
    })
    this.id = this.controller.open().id
    this.mode = this.controller.session.permissions?.mode
    this.controller.subscribe((event) => this.onEvent(event))
  }

  /** The session's modes, when the permissions plugin gives it any. */
  modes(): SessionModeState | undefined {
    const mode = this.controller.session.permissions?.mode
    if (mode === undefined) return undefined
    const available: SessionModeState['availableModes'] = MODES.map((m) => ({ ...m }))
    if (!available.some((m) => m.id === mode)) available.push({ id: mode, name: mode })
    return { currentModeId: mode, availableModes: available }
  }

  /** Whether a mode can be set from the editor. */
  static knowsMode(mode: string): boolean {
    return MODES.some((m) => m.id === mode)
  }

  setMode(mode: (typeof MODES)[number]['id']): void {
    this.controller.setMode(mode)
  }

  /** Sends an update after those before it. */
  send(update: SessionUpdate): Promise<void> {
    if (this.closed) return this.outbox
    this.outbox = this.outbox
      .then(() => this.deps.client.notify('session/update', { sessionId: this.id, update }))
      .catch((error: unknown) => this.deps.logger.warn(`session/update not sent: ${String(error)}`))
    return this.outbox
  }

  /** The commands the editor offers after `/`. */
  async publishCommands(): Promise<void> {
    const listed = await this.controller.commands()
    const availableCommands: AvailableCommand[] = listed.commands
      .filter((c) => !HIDDEN_COMMANDS.has(c.name))
      .map((c) => ({
        name: c.name,
        description: c.description,
        ...(c.argumentHint ? { input: { hint: c.argumentHint } } : {}),
      }))
    await this.send({ sessionUpdate: 'available_commands_update', availableCommands })
  }

  // ---- a prompt turn ----------------------------------------------------------------------

  async prompt(blocks: readonly ContentBlock[]): Promise<PromptResponse> {
    const text = promptText(blocks)
    const turn: Turn = { cancelled: false }
    this.turn = turn
    try {
      await this.controller.submit(text)
    } finally {
      this.turn = undefined
    }
    this.syncMode()
    await this.outbox
    if (turn.cancelled) return { stopReason: 'cancelled' }
    if (turn.error !== undefined) throw new TurnFailed(turn.error)
    return { stopReason: turn.stopReason ?? 'end_turn' }
  }

  get prompting(): boolean {
    return this.turn !== undefined
  }

  /** session/cancel: the run stops, its questions are withdrawn, the prompt answers `cancelled`. */
  cancel(): void {
    if (!this.turn) return
    this.turn.cancelled = true
    this.controller.abort()
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.controller.close('exit')
    await this.outbox
    this.closed = true
  }

  // ---- events -----------------------------------------------------------------------------

  private onEvent(event: ControllerEvent): void {
    if (event.type === 'agent') this.onAgentEvent(event.event)
    else if (event.type === 'output') {
      // A command's output is its answer; outside a prompt (a mode set by the editor) it is not news.
      if (this.turn) void this.send(chunk('agent_message_chunk', `${event.text}\n`))
    } else if (event.type === 'mode') this.syncMode()
    else if (event.type === 'run-end' && event.error !== undefined && this.turn)
      this.turn.error ??= event.error
  }

  private onAgentEvent(event: AgentEvent): void {
    // A subagent's steps stay inside its Task call.
    if (event.parentToolCallId !== undefined) return
    const cwd = this.controller.session.cwd
    switch (event.type) {
      case 'text-delta':
        void this.send(chunk('agent_message_chunk', event.text))
        return
      case 'reasoning-delta':
        void this.send(chunk('agent_thought_chunk', event.text))
        return
      case 'tool-start':
        this.calls.set(event.id, { name: event.name, input: event.input })
        void this.send({
          sessionUpdate: 'tool_call',
          toolCallId: event.id,
          title: toolTitle(event.name, event.input, cwd),
          kind: toolKind(event.name),
          status: 'pending',
          locations: toolLocations(event.name, event.input, cwd),
          content: proposedContent(event.name, event.input, cwd),
          rawInput: event.input,
        })
        return
      case 'permission-decision':
        if (event.behavior !== 'allow') return
        if (event.name === 'Bash') this.runningBash = event.id
        void this.send({ sessionUpdate: 'tool_call_update', toolCallId: event.id, status: 'in_progress' })
        return
      case 'tool-end': {
        if (this.runningBash === event.id) this.runningBash = undefined
        const call = this.calls.get(event.id)
        this.calls.delete(event.id)
        const terminalId = this.terminals.get(event.id)
        this.terminals.delete(event.id)
        void this.send({
          sessionUpdate: 'tool_call_update',
          toolCallId: event.id,
          status: event.result.isError ? 'failed' : 'completed',
          content:
            terminalId !== undefined
              ? [{ type: 'terminal', terminalId }]
              : finishedContent(event.name, call?.input, event.result, cwd),
        })
        this.syncMode() // ExitPlanMode's approval changes it
        return
      }
      case 'todos':
        void this.send({
          sessionUpdate: 'plan',
          entries: event.todos.map((todo) => ({
            content: todo.content,
            priority: 'medium',
            status: todo.status,
          })),
        })
        return
      case 'result':
        if (!this.turn) return
        this.turn.stopReason = STOP_REASONS[event.stopReason]
        if (event.stopReason === 'error') this.turn.error ??= event.error?.message ?? 'the run failed'
        return
      default:
        return
    }
  }

  /** Tells the editor when the mode changed (its own switch, /mode, an approved plan). */
  private syncMode(): void {
    if (this.closed) return
    const mode = this.controller.session.permissions?.mode
    if (mode === undefined || mode === this.mode) return
    this.mode = mode
    void this.send({ sessionUpdate: 'current_mode_update', currentModeId: mode })
  }

  // ---- questions --------------------------------------------------------------------------

  private async askPermission(request: PermissionRequest): Promise<PermissionAnswer> {
    const cwd = this.controller.session.cwd
    await this.outbox // the tool call is on the editor's screen before the question about it
    const rule = request.suggestedRule
    const options: PermissionOption[] = [
      { optionId: 'allow', name: 'Allow', kind: 'allow_once' },
      { optionId: 'allow-always', name: `Always allow ${rule}`, kind: 'allow_always' },
      { optionId: 'reject', name: 'Reject', kind: 'reject_once' },
      { optionId: 'reject-always', name: `Always reject ${rule}`, kind: 'reject_always' },
    ]
    let picked: string | undefined
    try {
      const response = await this.deps.client.request(
        'session/request_permission',
        {
          sessionId: this.id,
          toolCall: {
            toolCallId: request.toolCallId,
            title: toolTitle(request.toolName, request.input, cwd),
            kind: toolKind(request.toolName),
            status: 'pending',
            locations: toolLocations(request.toolName, request.input, cwd),
            content: proposedContent(request.toolName, request.input, cwd),
            rawInput: request.input,
          },
          options,
        },
        { cancellationSignal: request.signal, stopWaitingOnCancel: true },
      )
      picked = response.outcome.outcome === 'selected' ? response.outcome.optionId : undefined
    } catch (error) {
      if (request.signal.aborted) return 'deny'
      this.deps.logger.warn(
        `session/request_permission failed, so ${request.toolName} is denied: ${String(error)}`,
      )
      return { behavior: 'deny', reason: 'the editor could not be asked' }
    }
    switch (picked) {
      case 'allow':
        return 'allow'
      case 'allow-always':
        return 'allow-always'
      case 'reject-always':
        // tau's "always" for a rejection: a deny rule for the rest of the session.
        await this.controller.session.permissions?.addRule(rule, 'deny')
        return { behavior: 'deny', reason: `the user rejected ${rule} for this session` }
      case 'reject':
        return { behavior: 'deny', reason: 'the user rejected this call' }
      default:
        return { behavior: 'deny', reason: 'the question was cancelled in the editor' }
    }
  }

  private async approvePlan(request: PlanApprovalRequest): Promise<PlanApproval> {
    await this.outbox
    try {
      const response = await this.deps.client.request(
        'session/request_permission',
        {
          sessionId: this.id,
          toolCall: {
            toolCallId: request.toolCallId,
            title: 'Ready to code?',
            kind: 'switch_mode',
            status: 'pending',
            content: [{ type: 'content', content: { type: 'text', text: request.plan } }],
            locations: [{ path: request.file }],
          },
          options: [
            { optionId: 'acceptEdits', name: 'Yes, and auto-accept edits', kind: 'allow_always' },
            { optionId: 'default', name: 'Yes, and ask before edits', kind: 'allow_once' },
            { optionId: 'plan', name: 'No, keep planning', kind: 'reject_once' },
          ],
        },
        { cancellationSignal: request.signal, stopWaitingOnCancel: true },
      )
      const picked = response.outcome.outcome === 'selected' ? response.outcome.optionId : undefined
      if (picked === 'acceptEdits' || picked === 'default') return { decision: 'approve', mode: picked }
      return { decision: 'reject', reason: 'the user chose to keep planning' }
    } catch (error) {
      if (!request.signal.aborted) this.deps.logger.warn(`plan approval not asked: ${String(error)}`)
      return { decision: 'reject', reason: 'the editor could not be asked' }
    }
  }

  // ---- the environment --------------------------------------------------------------------

  /** The sandbox's environment, with the client's files and terminals where it offers them. */
  private environment(base: Environment): Environment {
    const caps = this.deps.capabilities
    const config = this.deps.config
    const client: ClientSide = {}
    if (config.files === 'client') {
      if (caps.fs?.readTextFile) client.readTextFile = (path) => this.readTextFile(path)
      if (caps.fs?.writeTextFile) client.writeTextFile = (path, content) => this.writeTextFile(path, content)
    }
    // A client terminal runs outside tau's sandbox: `auto` uses it only where tools are not
    // confined anyway (no bubblewrap), so the editor never widens what a command may touch.
    const terminals =
      caps.terminal === true &&
      (config.terminal === 'client' || (config.terminal === 'auto' && !base.capabilities.filesystemIsolation))
    if (terminals) client.runInTerminal = (run) => this.runInTerminal(run)
    if (!client.readTextFile && !client.writeTextFile && !client.runInTerminal) return base
    return new ClientEnvironment(base, client)
  }

  private async readTextFile(path: string): Promise<string> {
    const response = await this.deps.client.request('fs/read_text_file', { sessionId: this.id, path })
    return response.content
  }

  private async writeTextFile(path: string, content: string): Promise<void> {
    await this.deps.client.request('fs/write_text_file', { sessionId: this.id, path, content })
  }

  private async runInTerminal(run: TerminalRun): Promise<TerminalOutcome> {
    const handle = await this.deps.client.createTerminal({
      sessionId: this.id,
      command: run.command,
      args: [...run.args],
      cwd: run.cwd,
      env: Object.entries(run.env).map(([name, value]) => ({ name, value })),
      outputByteLimit: TERMINAL_OUTPUT_BYTES,
    })
    const toolCallId = this.runningBash
    if (toolCallId !== undefined) {
      // Embedded before it is released, so the editor keeps showing its output.
      this.terminals.set(toolCallId, handle.id)
      await this.send({
        sessionUpdate: 'tool_call_update',
        toolCallId,
        content: [{ type: 'terminal', terminalId: handle.id }],
      })
    }
    let timedOut = false
    let aborted = false
    const kill = () => {
      handle.kill().catch(() => undefined)
    }
    const timer =
      run.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            kill()
          }, run.timeoutMs)
    const onAbort = () => {
      aborted = true
      kill()
    }
    if (run.signal?.aborted) onAbort()
    run.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const exit = await handle.waitForExit()
      const output = await handle.currentOutput()
      return { output: output.output, exitStatus: output.exitStatus ?? exit, timedOut, aborted }
    } finally {
      clearTimeout(timer)
      run.signal?.removeEventListener('abort', onAbort)
      await handle.release().catch(() => undefined)
    }
  }
}

function chunk(kind: 'agent_message_chunk' | 'agent_thought_chunk' | 'user_message_chunk', text: string) {
  return { sessionUpdate: kind, content: { type: 'text', text } } satisfies SessionUpdate
}

/**
 * A prompt's content blocks as the text the model gets: text as written, an embedded resource
 * (a file the user attached) inside a <context> block naming it, a link as its URI.
 */
export function promptText(blocks: readonly ContentBlock[]): string {
  const parts: string[] = []
  for (const block of blocks) {
    if (block.type === 'text') parts.push(block.text)
    else if (block.type === 'resource_link') parts.push(block.uri)
    else if (block.type === 'resource') {
      const resource = block.resource
      if ('text' in resource) parts.push(`<context uri="${resource.uri}">\n${resource.text}\n</context>`)
      else parts.push(`[binary resource ${resource.uri}]`)
    }
  }
  return parts.join('\n')
}

export { chunk as textUpdate }
