/**
 * The llama.cpp side: node-llama-cpp imported lazily (only when a `local:` model is used: the
 * import and getLlama() cost ~1.3 s), one Llama per process, each model loaded once, and one
 * context per model with a sequence per concurrent run. llama.cpp's log goes to tau's logger,
 * and its last errors are kept to explain a failed load.
 */
import { availableParallelism } from 'node:os'
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp'
import { type Logger, messageOf, TauError } from '../../kernel/index.js'
import { withKeptBinaryTest } from './binary-test.js'
import { LOCAL_ERRORS } from './errors.js'
import { GgufFormatError, type GgufSummary, readGgufSummary } from './gguf-header.js'

export type NodeLlamaCpp = typeof import('node-llama-cpp')
/** Kept `unknown` so tau's public types do not need node-llama-cpp installed. */
export type NodeLlamaCppImporter = () => Promise<unknown>

export interface BackendOptions {
  readonly gpu: 'auto' | false
  readonly threads: number | undefined
  readonly contextSize: number
  readonly sequences: number
  readonly logger: Logger
  /** Imports node-llama-cpp; tests replace it to see the not-installed error. */
  readonly importer?: NodeLlamaCppImporter
  /** Where a passed test of node-llama-cpp's binary is kept (binary-test.ts); left out, none is. */
  readonly binaryTestDir?: string
}

export const NODE_LLAMA_CPP_VERSION = '3.21.1'

/** Threads from the CPU count: all cores but one, at least one. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1)
}

const PLUGIN = 'provider-local'

function isModuleMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    /node-llama-cpp/.test(messageOf(error))
  )
}

/** A model loaded with its one context, and the sequences free for a run. */
export class LoadedModel {
  private readonly free: LlamaContextSequence[] = []
  private readonly waiting: Array<(sequence: LlamaContextSequence) => void> = []
  /** The conversation each sequence last held, so a session gets its own KV cache back. */
  private readonly owner = new WeakMap<LlamaContextSequence, string>()

  constructor(
    readonly lib: NodeLlamaCpp,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly summary: GgufSummary,
    readonly path: string,
  ) {
    for (let i = 0; i < context.totalSequences; i++) this.free.push(context.getSequence())
  }

  get contextSize(): number {
    return this.context.contextSize
  }

  /** A sequence for one run; waits while all are busy. `key` prefers the sequence that held this conversation. */
  async acquire(key: string, signal?: AbortSignal): Promise<LlamaContextSequence> {
    const at = this.free.findIndex((sequence) => this.owner.get(sequence) === key)
    const picked = at >= 0 ? this.free.splice(at, 1)[0] : this.free.shift()
    if (picked) {
      this.owner.set(picked, key)
      return picked
    }
    return new Promise<LlamaContextSequence>((resolve, reject) => {
      const take = (sequence: LlamaContextSequence) => {
        signal?.removeEventListener('abort', onAbort)
        this.owner.set(sequence, key)
        resolve(sequence)
      }
      const onAbort = () => {
        const index = this.waiting.indexOf(take)
        if (index >= 0) this.waiting.splice(index, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(take)
    })
  }

  release(sequence: LlamaContextSequence): void {
    const next = this.waiting.shift()
    if (next) next(sequence)
    else this.free.push(sequence)
  }

  async dispose(): Promise<void> {
    await this.context.dispose()
    await this.model.dispose()
  }
}

export class LocalBackend {
  private lib: Promise<NodeLlamaCpp> | undefined
  private llama: Promise<Llama> | undefined
  private readonly models = new Map<string, Promise<LoadedModel>>()
  /** llama.cpp's recent warnings and errors: the detail behind "Failed to load model". */
  private readonly recent: string[] = []

  constructor(private readonly options: BackendOptions) {}

  get threads(): number {
    return this.options.threads ?? defaultThreads()
  }

  /** node-llama-cpp, imported on first use, with a clear error when it is not installed. */
  library(): Promise<NodeLlamaCpp> {
    this.lib ??= (this.options.importer ?? (() => import('node-llama-cpp')))().then(
      (lib) => lib as NodeLlamaCpp,
      (error: unknown) => {
        this.lib = undefined
        if (isModuleMissing(error))
          throw new TauError(
            LOCAL_ERRORS.TAU_LOCAL_NOT_INSTALLED,
            `local models run on node-llama-cpp, which is not installed: run \`npm i -E node-llama-cpp@${NODE_LLAMA_CPP_VERSION}\` where tau is installed`,
            { plugin: PLUGIN, cause: error },
          )
        throw error
      },
    )
    return this.lib
  }

  private getLlama(): Promise<Llama> {
    const dir = this.options.binaryTestDir
    this.llama ??= this.library().then((lib) => {
      const get = () =>
        lib.getLlama({
          gpu: this.options.gpu,
          maxThreads: this.threads,
          logLevel: lib.LlamaLogLevel.warn,
          logger: (level, message) => this.log(level, message),
        })
      return dir === undefined ? get() : withKeptBinaryTest({ dir, version: NODE_LLAMA_CPP_VERSION }, get)
    })
    this.llama.catch(() => {
      this.llama = undefined
    })
    return this.llama
  }

  private log(level: string, message: string): void {
    const text = message.trimEnd()
    if (text === '') return
    if (level === 'error' || level === 'fatal' || level === 'warn') {
      this.recent.push(text)
      if (this.recent.length > 8) this.recent.shift()
    }
    // llama.cpp's errors surface as tau errors quoting these lines; its log itself is detail.
    this.options.logger.debug(`llama.cpp: ${text}`, { level })
  }

  /** Loads `path` once (later calls share it). */
  load(path: string): Promise<LoadedModel> {
    let loaded = this.models.get(path)
    if (!loaded) {
      loaded = this.loadNow(path)
      this.models.set(path, loaded)
      loaded.catch(() => this.models.delete(path))
    }
    return loaded
  }

  private async loadNow(path: string): Promise<LoadedModel> {
    const summary = await inspectModel(path)
    const llama = await this.getLlama()
    const lib = await this.library()
    this.recent.length = 0
    let model: LlamaModel
    try {
      model = await llama.loadModel({ modelPath: path })
    } catch (error) {
      throw await this.loadError(path, summary, error)
    }
    try {
      const contextSize = Math.max(256, Math.min(this.options.contextSize, model.trainContextSize || 2048))
      const context = await model.createContext({
        contextSize,
        sequences: this.options.sequences,
        threads: this.threads,
      })
      this.options.logger.debug('local model loaded', {
        path,
        architecture: summary.architecture,
        contextSize: context.contextSize,
        sequences: context.totalSequences,
        threads: this.threads,
      })
      return new LoadedModel(lib, model, context, summary, path)
    } catch (error) {
      await model.dispose().catch(() => undefined)
      throw await this.loadError(path, summary, error)
    }
  }

  private async loadError(path: string, summary: GgufSummary, error: unknown): Promise<TauError> {
    // llama.cpp's log lines come from its threads through the event loop: let them arrive.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
    const detail = this.recent.join('\n')
    const unknownArch = /unknown model architecture: '([^']*)'/.exec(detail)
    if (unknownArch)
      return new TauError(
        LOCAL_ERRORS.TAU_LOCAL_MODEL_UNSUPPORTED,
        `${path}: llama.cpp cannot run the model architecture '${unknownArch[1]}'; use a GGUF of an architecture it supports (llama, qwen3, gemma3, phi3, ...)`,
        { plugin: PLUGIN, cause: error },
      )
    const why = detail
      .split('\n')
      .filter((line) => /error|failed|invalid|wrong/i.test(line))
      .slice(-3)
      .join('; ')
    return new TauError(
      LOCAL_ERRORS.TAU_LOCAL_MODEL_LOAD,
      `${path} (${summary.architecture ?? 'unknown architecture'}): ${messageOf(error)}${why ? ` — llama.cpp: ${why}` : ''}`,
      { plugin: PLUGIN, cause: error },
    )
  }

  async close(): Promise<void> {
    const models = [...this.models.values()]
    this.models.clear()
    // Each step is bounded: a teardown that hangs inside llama.cpp must not hold tau's exit.
    const bounded = (work: Promise<unknown>, what: string) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.options.logger.warn(`${what} did not finish in 5 s; going on`)
          resolve()
        }, 5000)
        timer.unref()
        work.then(
          () => resolve(),
          () => resolve(),
        )
      })
    for (const loaded of models)
      await bounded(
        loaded.then((model) => model.dispose()),
        'disposing a local model',
      )
    const llama = this.llama
    this.llama = undefined
    if (llama)
      await bounded(
        llama.then((l) => l.dispose()),
        'disposing llama.cpp',
      )
  }
}

/** Checks the file before llama.cpp sees it: there, readable, GGUF. */
export async function inspectModel(path: string): Promise<GgufSummary> {
  try {
    return await readGgufSummary(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new TauError(
        LOCAL_ERRORS.TAU_LOCAL_MODEL_MISSING,
        `no model file at ${path}: check the path (\`tau models list\` shows the downloaded models)`,
        { plugin: PLUGIN },
      )
    if (code === 'EISDIR')
      throw new TauError(LOCAL_ERRORS.TAU_LOCAL_MODEL_MISSING, `${path} is a directory, not a .gguf file`, {
        plugin: PLUGIN,
      })
    if (error instanceof GgufFormatError)
      throw new TauError(
        LOCAL_ERRORS.TAU_LOCAL_MODEL_INVALID,
        `${path} is not a usable GGUF model: ${error.message}; download it again, or point at a .gguf file`,
        {
          plugin: PLUGIN,
        },
      )
    throw error
  }
}
