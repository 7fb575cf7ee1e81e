/** The `tools` config slice: which built-ins to leave out, and their limits. */
import { z } from 'zod'

const positive = z.number().int().positive()

export const toolsConfig = z.strictObject({
  /** Built-in tools to leave out, by name (e.g. ['WebFetch', 'Bash']). */
  disabled: z.array(z.string()).default([]),
  read: z
    .strictObject({
      /** Lines returned when a call gives no limit. */
      maxLines: positive.default(2000),
      /** Longer lines are cut, with a note. */
      maxLineLength: positive.default(2000),
      /** Larger text files are refused (Grep or Bash instead). */
      maxFileBytes: positive.default(20 * 1024 * 1024),
      /** Larger images are refused. */
      maxImageBytes: positive.default(5 * 1024 * 1024),
    })
    .prefault({}),
  glob: z
    .strictObject({
      /** Paths returned at most (the most recently modified). */
      limit: positive.default(100),
    })
    .prefault({}),
  grep: z
    .strictObject({
      /** Results when a call gives no head_limit (lines, files or counts). */
      headLimit: positive.default(250),
      /** Larger files are skipped. */
      maxFileBytes: positive.default(5 * 1024 * 1024),
      /** Files read at once. */
      concurrency: positive.max(256).default(24),
    })
    .prefault({}),
  ls: z
    .strictObject({
      /** Entries listed at most. */
      limit: positive.default(1000),
    })
    .prefault({}),
  webSearch: z
    .strictObject({
      /** The search backend; unset: WebSearch is off and says how to turn it on. */
      provider: z.enum(['brave', 'searxng', 'tavily']).optional(),
      /** The backend's URL (required for searxng: the instance; brave and tavily have defaults). */
      endpoint: z.url({ protocol: /^https?$/ }).optional(),
      /** The environment variable holding the API key (default BRAVE_API_KEY, TAVILY_API_KEY). */
      apiKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
        .optional(),
      /** Results returned at most. */
      maxResults: positive.max(50).default(10),
    })
    .refine((v) => v.provider !== 'searxng' || v.endpoint !== undefined, {
      message: 'searxng needs the endpoint of the instance (e.g. http://localhost:8888)',
      path: ['endpoint'],
    })
    .prefault({}),
})

export type ToolsConfig = z.infer<typeof toolsConfig>
export type WebSearchConfig = ToolsConfig['webSearch']
