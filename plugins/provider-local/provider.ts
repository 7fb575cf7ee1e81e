/**
 * The `local` provider: `local:` model refs run in-process on node-llama-cpp. Each call takes a
 * sequence of the model's one context, maps the conversation to node-llama-cpp's chat history and
 * runs LlamaChat with the tools as function definitions without handlers: the model's chat wrapper
 * writes and parses the calls, tau runs the tools. Text streams as it is generated.
 */
import { randomUUID } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type {
  ChatModelFunctions,
  GbnfJsonSchema,
  LLamaChatGenerateResponseOptions,
  LlamaChatResponse,
} from 'node-llama-cpp'
import {
  type FinishReason,
  isTauError,
  type Logger,
  type ModelCapabilities,
  type ModelInfo,
  type ModelRequest,
  messageOf,
  type StreamEvent,
  TauError,
} from '../../kernel/index.js'
import { type CallOptions, type Provider, type ProviderCheck, ProviderError } from '../providers/index.js'
import { type LocalBackend, NODE_LLAMA_CPP_VERSION } from './backend.js'
import { conversationKey, toChatHistory } from './chat-history.js'
import { LOCAL_ERRORS } from './errors.js'
import { readGgufSummary } from './gguf-header.js'
import {
  JsonAnswerStream,
  jsonToolsSchema,
  parseJsonReply,
  type ToolFormat,
  toJsonToolHistory,
} from './json-tools.js'
import { formatLocalRef, localPathOf, parseLocalRef } from './model-ref.js'
import { normalizeToolSchema, stripOptionalNulls } from './tool-schema.js'

export interface LocalProviderSettings {
  readonly modelsDir: string
  readonly cwd: string
  readonly contextSize: number
  /** `auto`: the chat template's tool syntax where it has one, tau's JSON grammar otherwise. */
  readonly toolFormat?: 'auto' | ToolFormat
}

const PLUGIN = 'provider-local'

export class LocalProvider implements Provider {
  readonly name = 'local'
  private readonly idPrefix = randomUUID().slice(0, 8)
  private counter = 0

  constructor(
    private readonly backend: LocalBackend,
    private readonly settings: LocalProviderSettings,
    private readonly logger: Logger,
  ) {}

  /** The file a `local:` model names, or a clear error when it is not there. */
  resolvePath(model: string): string {
    const ref = parseLocalRef(model, this.settings.cwd)
    const path = localPathOf(ref, this.settings.modelsDir)
    if (path === undefined)
      throw new TauError(
        LOCAL_ERRORS.TAU_LOCAL_MODEL_MISSING,
        `the model local:${formatLocalRef(ref)} is not downloaded: run \`tau models pull ${formatLocalRef(ref)}\``,
        { plugin: PLUGIN },
      )
    return path
  }

  async capabilities(model: string): Promise<Partial<ModelCapabilities>> {
    const summary = await readGgufSummary(this.resolvePath(model)).catch(() => undefined)
    const trained = summary?.contextLength ?? this.settings.contextSize
    return {
      contextWindow: Math.min(trained, this.settings.contextSize),
      // node-llama-cpp documents and parses functions for every chat wrapper (its own syntax where the template has none).
      tools: true,
      vision: false,
      reasoning: false,
      structuredOutput: true,
    }
  }

  async *stream(request: ModelRequest, options: CallOptions = {}): AsyncGenerator<StreamEvent> {
    const signal = options.signal
    if (signal?.aborted) throw aborted()
    const loaded = await this.backend.load(this.resolvePath(request.model.model))
    const lib = loaded.lib
    const sequence = await loaded
      .acquire(conversationKey(request.messages), signal)
      .catch((error: unknown) => {
        throw signal?.aborted ? aborted() : error
      })
    const chunks: string[] = []
    let wake: (() => void) | undefined
    const notify = () => {
      wake?.()
      wake = undefined
    }
    const meter = sequence.tokenMeter.getState()
    let done = false
    let outcome: { response: LlamaChatResponse<ChatModelFunctions> } | { error: unknown } | undefined
    const tools = request.toolChoice === 'none' ? [] : (request.tools ?? [])
    const functions: ChatModelFunctions = Object.fromEntries(
      tools.map((tool) => [
        tool.name,
        {
          description: tool.description,
          params: normalizeToolSchema(tool.inputSchema) as unknown as GbnfJsonSchema,
        },
      ]),
    )
    const chat = new lib.LlamaChat({ contextSequence: sequence, autoDisposeSequence: false })
    // A wrapper still on node-llama-cpp's generic `||call:` syntax means the template has no tools.
    const format: ToolFormat =
      tools.length === 0
        ? 'template'
        : this.settings.toolFormat === 'template' || this.settings.toolFormat === 'json'
          ? this.settings.toolFormat
          : chat.chatWrapper.settings.functions === lib.ChatWrapper.defaultSettings.functions
            ? 'json'
            : 'template'
    const json = format === 'json' ? new JsonAnswerStream() : undefined
    // tau compacts the conversation itself: a history that does not fit is reported, not cut here
    // (node-llama-cpp would shift the context, dropping old messages). The prompt is counted with
    // the model's tokenizer, and the answer may use what is left.
    const history = json ? toJsonToolHistory(request.messages, tools) : toChatHistory(request.messages)
    const prompt = chat.chatWrapper
      .generateContextState({
        chatHistory: history,
        ...(tools.length > 0 && !json ? { availableFunctions: functions, documentFunctionParams: true } : {}),
      })
      .contextText.tokenize(loaded.model.tokenizer).length
    const room = loaded.contextSize - prompt
    if (room < 16) {
      chat.dispose({ disposeSequence: false })
      loaded.release(sequence)
      throw new ProviderError(
        'context-length',
        `the conversation is ${prompt} tokens, longer than the local model's context window (${loaded.contextSize} tokens)`,
        { provider: 'local', plugin: PLUGIN },
      )
    }
    const maxTokens = Math.min(request.maxOutputTokens ?? room, room)
    const base = {
      onTextChunk: (text: string) => {
        chunks.push(json ? json.push(text) : text)
        notify()
      },
      ...(signal ? { signal, stopOnAbortSignal: false } : {}),
      maxTokens,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { topP: request.topP } : {}),
      ...(request.stop && request.stop.length > 0 ? { customStopTriggers: [...request.stop] } : {}),
    }
    let generateOptions: LLamaChatGenerateResponseOptions<ChatModelFunctions>
    if (json)
      generateOptions = {
        ...base,
        grammar: await loaded.model.llama.createGrammarForJsonSchema(
          // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp types the schema literally; this one is data
          jsonToolsSchema(tools) as any,
        ),
      } as LLamaChatGenerateResponseOptions<ChatModelFunctions>
    else if (tools.length > 0) generateOptions = { ...base, functions, documentFunctionParams: true }
    else if (request.responseFormat?.schema)
      generateOptions = {
        ...base,
        grammar: await loaded.model.llama.createGrammarForJsonSchema(
          // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp types the schema literally; this one is data
          normalizeToolSchema(request.responseFormat.schema) as any,
        ),
      } as LLamaChatGenerateResponseOptions<ChatModelFunctions>
    else generateOptions = base
    const running = chat
      .generateResponse(history, generateOptions)
      .then(
        (response) => {
          outcome = { response }
        },
        (error: unknown) => {
          outcome = { error }
        },
      )
      .finally(() => {
        done = true
        notify()
      })
    try {
      for (;;) {
        while (chunks.length > 0) {
          const text = chunks.shift() as string
          if (text !== '') yield { type: 'text-delta', text }
        }
        if (done) break
        await new Promise<void>((resolve) => {
          wake = resolve
        })
      }
      await running
      const settled = outcome as typeof outcome
      if (!settled) throw new Error('the local model ended without an answer')
      if ('error' in settled) throw this.callError(settled.error, signal)
      const result = settled.response
      const stopReason = result.metadata.stopReason
      if (stopReason === 'abort' || signal?.aborted) throw aborted()
      let finish: FinishReason = stopReason === 'maxTokens' ? 'length' : 'stop'
      const calls: Array<{ readonly functionName: string; readonly params?: unknown }> = [
        ...(result.functionCalls ?? []),
      ]
      if (json) {
        const reply = parseJsonReply(json.response)
        if (reply?.kind === 'call') calls.push({ functionName: reply.name, params: reply.input })
        else if (reply?.kind === 'answer' && reply.text.length > json.text.length)
          // What the chunks did not stream yet (the grammar's end arrives in one piece).
          yield { type: 'text-delta', text: reply.text.slice(json.text.length) }
        else if (reply === undefined) finish = 'length'
      }
      for (const call of calls) {
        const tool = tools.find((t) => t.name === call.functionName)
        const input = stripOptionalNulls(call.params ?? {}, tool?.inputSchema) ?? {}
        const id = `call_${this.idPrefix}_${++this.counter}`
        yield { type: 'tool-call-start', id, name: call.functionName }
        yield { type: 'tool-call-delta', id, argumentsDelta: JSON.stringify(input) }
        yield { type: 'tool-call-end', id, name: call.functionName, input }
        finish = 'tool-calls'
      }
      const used = sequence.tokenMeter.diff(meter)
      // The model's own tokenizer counted these: the prompt is all the sequence holds but the answer.
      const outputTokens = used.usedOutputTokens
      const inputTokens = Math.max(used.usedInputTokens, sequence.contextTokens.length - outputTokens)
      this.logger.debug('local model call', {
        stopReason,
        inputTokens,
        outputTokens,
        calls: calls.length,
        toolFormat: format,
      })
      yield { type: 'usage', usage: { inputTokens, outputTokens } }
      yield { type: 'finish', reason: finish }
    } finally {
      chat.dispose({ disposeSequence: false })
      // A generation still running (the caller stopped reading) ends before the sequence is reused.
      if (!done) {
        await running.catch(() => undefined)
      }
      loaded.release(sequence)
    }
  }

  private callError(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return aborted()
    if (isTauError(error)) return error
    const message = messageOf(error)
    if (/too long prompt|context size|context window|compress chat history/i.test(message))
      return new ProviderError('context-length', `the local model's context is full: ${message}`, {
        provider: 'local',
        plugin: PLUGIN,
        cause: error,
      })
    return new ProviderError('server', `llama.cpp failed while generating: ${message}`, {
      provider: 'local',
      plugin: PLUGIN,
      cause: error,
    })
  }

  async listModels(): Promise<ModelInfo[]> {
    const files = await listModelFiles(this.settings.modelsDir)
    return files.map((file) => ({ ref: { provider: 'local', model: file.ref } }))
  }

  async check(model: string | undefined): Promise<ProviderCheck[]> {
    const checks: ProviderCheck[] = []
    try {
      const lib = await this.backend.library()
      const version = (await lib.getModuleVersion?.()) ?? NODE_LLAMA_CPP_VERSION
      checks.push({
        name: 'installed',
        ok: true,
        detail: `node-llama-cpp ${version}, ${this.backend.threads} thread(s)`,
      })
    } catch (error) {
      checks.push({ name: 'installed', ok: false, detail: messageOf(error) })
      return checks
    }
    const files = await listModelFiles(this.settings.modelsDir)
    if (model === undefined) {
      checks.push({
        name: 'models',
        ok: true,
        detail:
          files.length === 0
            ? `none in ${this.settings.modelsDir} (\`tau models pull hf:USER/REPO:QUANT\`)`
            : `${files.length} in ${this.settings.modelsDir}`,
      })
      return checks
    }
    try {
      const path = this.resolvePath(model)
      const summary = await readGgufSummary(path)
      checks.push({
        name: 'model',
        ok: true,
        detail: `${path}: ${summary.architecture ?? '?'}, trained context ${summary.contextLength ?? '?'}${summary.hasChatTemplate ? ', chat template' : ', no chat template'}`,
      })
    } catch (error) {
      checks.push({ name: 'model', ok: false, detail: messageOf(error) })
    }
    return checks
  }

  close(): Promise<void> {
    return this.backend.close()
  }
}

function aborted(): ProviderError {
  return new ProviderError('aborted', 'the local model call was aborted', {
    provider: 'local',
    plugin: PLUGIN,
  })
}

export interface ModelFile {
  /** The ref it is used with, after `local:` (`hf:USER/REPO/FILE.gguf`). */
  readonly ref: string
  readonly path: string
  readonly size: number
  readonly modified: Date
}

/** The .gguf files under the models directory, newest first (partial downloads are left out). */
export async function listModelFiles(modelsDir: string): Promise<ModelFile[]> {
  const out: ModelFile[] = []
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.gguf')) {
        const info = await stat(path)
        const rel = relative(modelsDir, path).split(sep)
        const ref = rel[0] === 'hf' && rel.length >= 4 ? `hf:${rel.slice(1).join('/')}` : path
        out.push({ ref, path, size: info.size, modified: info.mtime })
      }
    }
  }
  await walk(modelsDir)
  return out.sort((a, b) => b.modified.getTime() - a.modified.getTime() || a.ref.localeCompare(b.ref))
}
