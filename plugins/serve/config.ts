/** The `serve` plugin's config slice (`serve` in tau.config.ts); defaults live here. */
import { z } from 'zod'
import { lazySchema } from '../../kernel/index.js'

export const serveConfig = lazySchema('serve', () =>
  z
    .object({
      /** Address to listen on. Loopback by default: anything else exposes the agent to the network. */
      host: z.string().min(1).default('127.0.0.1'),
      /** TCP port; 0 picks a free one (printed at start). */
      port: z.number().int().min(0).max(65_535).default(4180),
      /**
       * Origins allowed to call the API from a browser page served elsewhere (CORS). Empty (the
       * default): no CORS headers at all, so only the bundled web UI (same origin) can call it.
       */
      corsOrigins: z.array(z.string().min(1)).default([]),
      /** Where the bearer token is kept (default `$TAU_HOME/serve/token`, created with mode 0600). */
      tokenFile: z.string().min(1).optional(),
      /** Events of each session kept in memory for SSE resume; older ones are replayed from the log. */
      replayBuffer: z.number().int().min(100).default(20_000),
      /** Serve the web UI at `/`. */
      webUi: z.boolean().default(true),
      /**
       * `in-process` runs each session's agent here; `enqueue` (needs `durable`) enqueues each prompt
       * as a durable run that a `tau worker` runs, and streams the session's log from PostgreSQL.
       */
      mode: z.enum(['in-process', 'enqueue']).default('in-process'),
    })
    .strict(),
)

export type ServeConfig = z.infer<typeof serveConfig>
