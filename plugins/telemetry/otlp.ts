/**
 * The OTLP/HTTP exporter, set up only when an endpoint is configured: the SDK and exporter are
 * optional peer dependencies, imported on the first run (never at start-up, never in the bundle).
 * The exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables itself (endpoint, headers,
 * timeout); spans are batched and flushed when tau stops.
 */
import type { TracerProvider } from '@opentelemetry/api'
import { messageOf, TauError } from '../../kernel/index.js'
import { TELEMETRY_ERRORS } from './errors.js'

export interface OtlpTracing {
  readonly provider: TracerProvider
  /** Flushes what is batched and stops exporting. */
  shutdown(): Promise<void>
}

export type Env = Readonly<Record<string, string | undefined>>

export function otlpEndpointOf(env: Env): string | undefined {
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined
}

export async function startOtlpTracing(serviceName: string): Promise<OtlpTracing> {
  let modules: [
    typeof import('@opentelemetry/sdk-trace'),
    typeof import('@opentelemetry/resources'),
    typeof import('@opentelemetry/exporter-trace-otlp-http'),
  ]
  try {
    modules = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/exporter-trace-otlp-http'),
    ])
  } catch (error) {
    throw new TauError(
      TELEMETRY_ERRORS.TAU_TELEMETRY_EXPORTER_MISSING,
      `an OTLP endpoint is set, but the exporter could not be loaded: ${messageOf(error)}`,
      { plugin: 'telemetry', cause: error },
    )
  }
  const [sdk, resources, exporter] = modules
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter: new exporter.OTLPTraceExporter() })],
  })
  return { provider, shutdown: () => provider.shutdown() }
}
