/**
 * The `telemetry` plugin: OpenTelemetry traces of every agent run, following the GenAI semantic
 * conventions (genai.ts holds the whole mapping): `invoke_agent` per run, `chat {model}` per model
 * call, `execute_tool {name}` per tool call, a subagent's run under its parent's Task call.
 * Built on the agent's hooks and its `event` stream only; the plugin itself uses only
 * `@opentelemetry/api`. With an OTLP endpoint in the environment it exports over OTLP/HTTP (the
 * SDK loaded lazily); embedders register their own tracer provider instead. See README.md.
 */
import type { Tracer } from '@opentelemetry/api'
import { definePlugin, formatError } from '../../kernel/index.js'
import { agentHooksRef } from '../agent/index.js'
import { orchestrateHooksRef, orchestratorRef } from '../orchestrate/index.js'
import { telemetryConfig } from './config.js'
import { type OtlpTracing, otlpEndpointOf, startOtlpTracing } from './otlp.js'

export { type TelemetryConfig, telemetryConfig } from './config.js'
export { TELEMETRY_ERRORS } from './errors.js'
export type { SpanTrackerOptions } from './spans.js'

// SpanTracker is in public.ts: the spans and the OpenTelemetry API load only when tracing is on.

const TRACER_NAME = 'tau'

export default definePlugin({
  name: 'telemetry',
  description:
    'OpenTelemetry traces of agent runs, model calls and tool calls (GenAI conventions); OTLP export',
  dependsOn: ['agent'],
  // Workflow runs (invoke_workflow spans) when the orchestrate plugin is loaded.
  optionalDependsOn: ['orchestrate'],
  config: telemetryConfig,
  async setup(ctx) {
    const env = process.env
    const endpoint = env.OTEL_SDK_DISABLED === 'true' ? undefined : otlpEndpointOf(env)
    const enabled = ctx.config.enabled === 'auto' ? endpoint !== undefined : ctx.config.enabled
    if (!enabled) return
    // Tracing on: only now the span code and the OpenTelemetry API are initialised (not at every start).
    const [{ trace }, { SpanTracker }] = await Promise.all([
      import('@opentelemetry/api'),
      import('./spans.js'),
    ])
    const captureContent =
      ctx.config.captureContent || env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT === 'true'
    const serviceName = ctx.config.serviceName ?? (env.OTEL_SERVICE_NAME || 'tau')
    let otlp: Promise<OtlpTracing> | undefined
    let tracer: Promise<Tracer> | undefined
    // Heavy work is lazy: the SDK and exporter load at the first run, not at start-up.
    const tracerOf = (): Promise<Tracer> => {
      tracer ??= (async () => {
        if (endpoint === undefined) return trace.getTracer(TRACER_NAME)
        otlp ??= startOtlpTracing(serviceName)
        try {
          return (await otlp).provider.getTracer(TRACER_NAME)
        } catch (error) {
          // Observability never stops the agent: said once, then runs go on untraced.
          otlp = undefined
          ctx.logger.warn(formatError(error))
          return trace.getTracer(TRACER_NAME)
        }
      })()
      return tracer
    }
    const tracker = new SpanTracker({ tracer: tracerOf, captureContent, agentName: 'tau' })
    tracker.tap(ctx.hooksOf(agentHooksRef))
    if (ctx.tryResolve(orchestratorRef)) tracker.tapWorkflows(ctx.hooksOf(orchestrateHooksRef))
    return async () => {
      if (otlp) await (await otlp).shutdown()
    }
  },
})
