/**
 * Spans from the agent loop's hooks and its one event stream: a run is `invoke_agent`, each model
 * call `chat`, each tool call `execute_tool`, children of their run; a subagent's run is a child
 * of its parent's Task call. Every open span is ended on every path: a run's end closes what it
 * left open (an aborted call, a tool killed with the run) with an error status.
 */
import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import type { TapView } from '../../kernel/index.js'
import type { AgentEvent, AgentHooks, RunEndContext, RunStartContext } from '../agent/index.js'
import type { OrchestrateHooks } from '../orchestrate/index.js'
import {
  agentAttributes,
  agentSpanName,
  chatAttributes,
  chatSpanName,
  errorAttributes,
  responseAttributes,
  toolAttributes,
  toolResultAttributes,
  toolSpanName,
  usageAttributes,
  workflowAttributes,
  workflowSpanName,
} from './genai.js'

export interface SpanTrackerOptions {
  /** The tracer, resolved at a run's start (the exporter may be set up lazily). */
  readonly tracer: () => Promise<Tracer>
  /** Prompts, answers, tool arguments and results as attributes. */
  readonly captureContent: boolean
  /** The agent's name on top-level runs (subagents carry their agent type). */
  readonly agentName: string
}

interface RunSpans {
  readonly span: Span
  readonly context: Context
  readonly tracer: Tracer
  /** Open chat spans by turn. */
  readonly chats: Map<number, Span>
}

type WorkflowTaps = Pick<
  TapView<OrchestrateHooks>,
  'workflowStart' | 'workflowEnd' | 'stepStart' | 'stepEnd' | 'stepSession'
>

interface WorkflowSpan {
  readonly span: Span
  readonly context: Context
  readonly runId: string
  /** The step path of a nested workflow ('' for the run itself). */
  readonly path: string
}

type HookTaps = Pick<
  TapView<AgentHooks>,
  'runStart' | 'runEnd' | 'beforeModelCall' | 'afterModelCall' | 'modelCallFailed' | 'event'
>

export class SpanTracker {
  private readonly runs = new Map<string, RunSpans>()
  /** Open tool spans by tool-call id (unique within a conversation; keyed with the session). */
  private readonly tools = new Map<string, { span: Span; runId: string }>()
  /** Open workflow spans: a run's, and its nested workflows' (keyed run id + step path). */
  private readonly workflows = new Map<string, WorkflowSpan>()
  /** Agent sessions of workflow steps: their runs nest under the enclosing workflow's span. */
  private readonly stepSessions = new Map<string, { context: Context; agent: string; runId: string }>()

  constructor(private readonly options: SpanTrackerOptions) {}

  /** Taps the agent hooks; returns nothing to undo (hooks live and die with the kernel). */
  tap(hooks: HookTaps): void {
    hooks.runStart.tapPromise((run) => this.runStarted(run))
    hooks.runEnd.tapPromise(async (run) => this.runEnded(run))
    hooks.beforeModelCall.tapPromise(async (call) => {
      const run = this.runs.get(call.runId)
      if (run) {
        const span = run.tracer.startSpan(
          chatSpanName(call.request),
          {
            kind: SpanKind.CLIENT,
            attributes: chatAttributes(call.request, call.sessionId, this.options.captureContent),
          },
          run.context,
        )
        run.chats.get(call.turn)?.end()
        run.chats.set(call.turn, span)
      }
      return call
    })
    hooks.afterModelCall.tapPromise(async (call) => {
      const run = this.runs.get(call.runId)
      const span = run?.chats.get(call.turn)
      if (!run || !span) return
      run.chats.delete(call.turn)
      span.setAttributes(responseAttributes(call.response, this.options.captureContent))
      span.end()
    })
    hooks.modelCallFailed.tapPromise(async (failure) => {
      const run = this.runs.get(failure.runId)
      const span = run?.chats.get(failure.turn)
      if (!run || !span) return
      run.chats.delete(failure.turn)
      fail(span, failure.error.code, failure.error.message)
      span.end()
    })
    hooks.event.tap((event) => this.observe(event))
  }

  /** Taps the orchestrate plugin's hooks: `invoke_workflow` spans, agent steps' runs under them. */
  tapWorkflows(hooks: WorkflowTaps): void {
    hooks.workflowStart.tapPromise(async (start) => {
      const tracer = await this.options.tracer()
      const span = tracer.startSpan(workflowSpanName(start.workflow), {
        kind: SpanKind.INTERNAL,
        attributes: workflowAttributes({ workflow: start.workflow, runId: start.runId }),
      })
      if (start.resumed) span.setAttribute('tau.workflow.resumed', true)
      const ctx = trace.setSpan(context.active(), span)
      this.workflows.set(workflowKey(start.runId, ''), { span, context: ctx, runId: start.runId, path: '' })
    })
    hooks.stepStart.tapPromise(async (step) => {
      if (step.kind !== 'workflow' || step.workflow === undefined) return
      const root = this.workflows.get(workflowKey(step.runId, ''))
      // The run's own workflow (a path without '/') is the root span; a nested one is a child of
      // its enclosing workflow.
      if (!step.step.includes('/')) {
        if (root) this.workflows.set(workflowKey(step.runId, step.step), { ...root, path: step.step })
        return
      }
      const parent = this.enclosing(step.runId, step.step)
      if (!parent) return
      const tracer = await this.options.tracer()
      const span = tracer.startSpan(
        workflowSpanName(step.workflow),
        {
          kind: SpanKind.INTERNAL,
          attributes: workflowAttributes({ workflow: step.workflow, runId: step.runId, step: step.step }),
        },
        parent.context,
      )
      this.workflows.set(workflowKey(step.runId, step.step), {
        span,
        context: trace.setSpan(parent.context, span),
        runId: step.runId,
        path: step.step,
      })
    })
    hooks.stepEnd.tapPromise(async (step) => {
      if (step.kind !== 'workflow') return
      const key = workflowKey(step.runId, step.step)
      const open = this.workflows.get(key)
      if (!open) return
      this.workflows.delete(key)
      // The run's own workflow step shares the root span, which workflowEnd ends.
      if (open.span === this.workflows.get(workflowKey(step.runId, ''))?.span) return
      if (step.isError) fail(open.span, step.error?.code ?? 'error', step.error?.message ?? 'the step failed')
      open.span.end()
    })
    hooks.stepSession.tapPromise(async (session) => {
      const parent = this.enclosing(session.runId, session.step)
      if (parent) {
        this.stepSessions.set(session.sessionId, {
          context: parent.context,
          agent: session.agent,
          runId: session.runId,
        })
      }
    })
    hooks.workflowEnd.tapPromise(async (end) => {
      for (const [id, session] of this.stepSessions)
        if (session.runId === end.runId) this.stepSessions.delete(id)
      const rootKey = workflowKey(end.runId, '')
      const root = this.workflows.get(rootKey)
      for (const [key, open] of this.workflows) {
        if (open.runId !== end.runId || key === rootKey) continue
        this.workflows.delete(key)
        if (open.span !== root?.span) {
          fail(open.span, end.error?.code ?? 'error', 'the workflow ended')
          open.span.end()
        }
      }
      if (!root) return
      this.workflows.delete(rootKey)
      root.span.setAttributes(usageAttributes(end.usage))
      if (end.costUsd !== undefined) root.span.setAttribute('tau.cost_usd', end.costUsd)
      if (end.isError)
        fail(root.span, end.error?.code ?? 'error', end.error?.message ?? 'the workflow failed')
      root.span.end()
    })
  }

  /** The innermost open workflow span around a step path. */
  private enclosing(runId: string, step: string): WorkflowSpan | undefined {
    let best: WorkflowSpan | undefined
    for (const open of this.workflows.values()) {
      if (open.runId !== runId) continue
      const inside = open.path === '' || step === open.path || step.startsWith(`${open.path}/`)
      if (inside && (!best || open.path.length > best.path.length)) best = open
    }
    return best
  }

  private async runStarted(run: RunStartContext): Promise<void> {
    const tracer = await this.options.tracer()
    const parentTool = run.parent
      ? this.tools.get(toolKey(run.parent.sessionId, run.parent.toolCallId))
      : undefined
    const step = parentTool ? undefined : this.stepSessions.get(run.sessionId)
    const parentContext = parentTool
      ? trace.setSpan(context.active(), parentTool.span)
      : (step?.context ?? context.active())
    const agentName = run.parent?.agentType ?? step?.agent ?? this.options.agentName
    const span = tracer.startSpan(
      agentSpanName(agentName),
      {
        kind: SpanKind.INTERNAL,
        attributes: agentAttributes({
          agentName,
          sessionId: run.sessionId,
          runId: run.runId,
          model: run.model,
        }),
      },
      parentContext,
    )
    if (this.options.captureContent && run.prompt !== undefined) {
      span.setAttribute(
        'gen_ai.input.messages',
        JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: run.prompt }] }]),
      )
    }
    this.runs.set(run.runId, { span, context: trace.setSpan(parentContext, span), tracer, chats: new Map() })
  }

  private runEnded(end: RunEndContext): void {
    const run = this.runs.get(end.runId)
    if (!run) return
    this.runs.delete(end.runId)
    const reason = end.error?.message ?? `the run ended (${end.stopReason})`
    for (const chat of run.chats.values()) {
      fail(chat, end.error?.code ?? end.stopReason, reason)
      chat.end()
    }
    for (const [key, tool] of this.tools) {
      if (tool.runId !== end.runId) continue
      fail(tool.span, end.error?.code ?? end.stopReason, reason)
      tool.span.end()
      this.tools.delete(key)
    }
    run.span.setAttributes({
      ...usageAttributes(end.usage),
      'tau.stop_reason': end.stopReason,
      'tau.turns': end.turns,
    })
    if (end.costUsd !== undefined) run.span.setAttribute('tau.cost_usd', end.costUsd)
    if (end.isError) fail(run.span, end.error?.code ?? end.stopReason, reason)
    run.span.end()
  }

  private observe(event: AgentEvent): void {
    if (event.type === 'tool-start') {
      const run = this.runs.get(event.runId)
      if (!run) return
      const span = run.tracer.startSpan(
        toolSpanName(event.name),
        {
          kind: SpanKind.INTERNAL,
          attributes: toolAttributes({
            name: event.name,
            id: event.id,
            input: event.input,
            content: this.options.captureContent,
          }),
        },
        run.context,
      )
      this.tools.set(toolKey(event.sessionId, event.id), { span, runId: event.runId })
    } else if (event.type === 'tool-end') {
      const key = toolKey(event.sessionId, event.id)
      const tool = this.tools.get(key)
      if (!tool) return
      this.tools.delete(key)
      const text = event.result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('')
      tool.span.setAttributes(toolResultAttributes(text, this.options.captureContent))
      // An error's text is content too (it may quote a file or a command's output).
      if (event.result.isError)
        fail(
          tool.span,
          'tool_error',
          this.options.captureContent ? firstLine(text) : 'the tool returned an error',
        )
      tool.span.end()
    } else if (event.type === 'assistant-message' && event.firstTokenMs !== undefined) {
      // Emitted before afterModelCall ends the call's chat span: the run's newest chat span is this call's.
      const chat = [...(this.runs.get(event.runId)?.chats.values() ?? [])].at(-1)
      chat?.setAttribute('tau.time_to_first_token_ms', event.firstTokenMs)
    }
  }

  /** Spans still open (for tests and for a clean stop). */
  openSpans(): number {
    let chats = 0
    for (const run of this.runs.values()) chats += run.chats.size
    return (
      this.runs.size + chats + this.tools.size + new Set([...this.workflows.values()].map((w) => w.span)).size
    )
  }
}

function workflowKey(runId: string, path: string): string {
  return `${runId}\u0000${path}`
}

function toolKey(sessionId: string, toolCallId: string): string {
  return `${sessionId}\u0000${toolCallId}`
}

function fail(span: Span, code: string, message: string): void {
  span.setAttributes(errorAttributes(code))
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}

function firstLine(text: string): string {
  const end = text.indexOf('\n')
  return (end < 0 ? text : text.slice(0, end)).slice(0, 200)
}
