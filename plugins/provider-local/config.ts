/** `providers.local`: where models live, how they are run, where they are downloaded from. */
import { z } from 'zod'
import { lazySchema } from '../../kernel/index.js'

export const localConfig = lazySchema('providers.local', () =>
  z.strictObject({
    /** Where downloaded models are kept. Default: $TAU_HOME/models. */
    modelsDir: z.string().min(1).optional(),
    /** The Hugging Face endpoint to download from. Default: $TAU_HF_ENDPOINT, else https://huggingface.co. */
    hfEndpoint: z.string().url().optional(),
    /** CPU threads. Default: the available cores less one (at least 1); llama.cpp's own default of 4 is 20-400x slower on 2 cores. */
    threads: z.number().int().positive().optional(),
    /** `auto` uses a GPU where node-llama-cpp finds one; `false` always runs on the CPU. */
    gpu: z.union([z.literal('auto'), z.literal(false)]).default('auto'),
    /** Largest context window to load a model with (the model's own trained size is the other bound). */
    contextSize: z.number().int().min(256).default(16384),
    /** Runs that can generate at once on one model (sessions, subagents): sequences of the one context. */
    sequences: z.number().int().min(1).max(64).default(4),
    /**
     * How tool calls are written: `template` by the model's chat wrapper, `json` by tau's
     * prompt-described tools and a JSON grammar; `auto` uses the template where it has a tool-call
     * syntax of its own and the JSON grammar otherwise.
     */
    toolFormat: z.enum(['auto', 'template', 'json']).default('auto'),
    /** A download that receives nothing for this long is stopped (it can be resumed). */
    downloadIdleTimeoutMs: z.number().int().positive().default(30000),
  }),
)

export type LocalConfig = z.infer<typeof localConfig>
