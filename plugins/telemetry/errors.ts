/** The telemetry plugin's error codes. */
import { defineErrors } from '../../kernel/index.js'

export const TELEMETRY_ERRORS = defineErrors('telemetry', {
  TAU_TELEMETRY_EXPORTER_MISSING: {
    title: 'An OTLP endpoint is set, but the OpenTelemetry SDK and OTLP exporter are not installed',
    hint: 'Install them next to tau: `npm i -E @opentelemetry/sdk-trace@2.12.1 @opentelemetry/resources@2.12.1 @opentelemetry/exporter-trace-otlp-http@0.223.1` (optional peer dependencies), or unset OTEL_EXPORTER_OTLP_ENDPOINT.',
    userError: true,
  },
})
