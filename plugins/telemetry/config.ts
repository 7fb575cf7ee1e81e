/** The `telemetry` config slice. */
import { z } from 'zod'

export const telemetryConfig = z.strictObject({
  /**
   * `auto` (default): on when an OTLP endpoint is set in the environment
   * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `OTEL_SDK_DISABLED`
   * is not `true`. `true`: on — exporting over OTLP when an endpoint is set, else to whatever
   * tracer provider the embedding program registered with `@opentelemetry/api`. `false`: off.
   */
  enabled: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  /**
   * Prompts, answers, tool arguments and tool results as span attributes. Off by default (also
   * turned on by `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`): they may hold secrets.
   */
  captureContent: z.boolean().default(false),
  /** `service.name` of exported spans; default `OTEL_SERVICE_NAME`, else `tau`. */
  serviceName: z.string().min(1).optional(),
})

export type TelemetryConfig = z.infer<typeof telemetryConfig>
