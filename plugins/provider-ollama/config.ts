/** `providers.ollama`: where the server is and what every call sends along. */
import { z } from 'zod'

export const ollamaConfig = z.strictObject({
  /**
   * The Ollama server. Default: $OLLAMA_HOST, else http://127.0.0.1:11434. Takes OLLAMA_HOST's forms
   * (`0.0.0.0:11434`, `host:port`, `https://proxy/ollama`).
   */
  host: z.string().min(1).optional(),
  /** How long the model stays loaded after a call: a duration (`10m`, `1h`, `-1` forever) or seconds. */
  keepAlive: z.union([z.string().min(1), z.number()]).optional(),
  /**
   * The context window to load models with (`options.num_ctx`). Ollama's own default is small
   * (4k to 256k depending on VRAM): agents usually need 32k or more.
   */
  numCtx: z.number().int().positive().optional(),
  /** Extra headers on every request, for a proxy in front of Ollama. */
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * Models (name prefixes) whose `think` takes a level ('low' | 'medium' | 'high') instead of
   * true/false. Other models get true/false, which every Ollama version accepts.
   */
  thinkLevels: z.array(z.string().min(1)).default(['gpt-oss']),
})

export type OllamaConfig = z.infer<typeof ollamaConfig>
