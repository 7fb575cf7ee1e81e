/**
 * `provider-scripted`: a model that plays a script instead of calling a network. For tests and
 * demos, tau's and third-party plugin authors' alike (`scripted:any-name` as the model).
 *
 * For tests that must cross the real wire, server.ts serves the same scripts over loopback HTTP
 * in the Ollama, OpenAI and Anthropic formats.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { z } from 'zod'
import {
  definePlugin,
  defineService,
  type ModelCapabilities,
  type ModelRequest,
  type StreamEvent,
} from '../../kernel/index.js'
import {
  type CallOptions,
  HttpClient,
  type Provider,
  ProviderError,
  parseToolArguments,
  providerRegistryRef,
} from '../providers/index.js'
import { argumentsText, type Script, type ScriptTurn, turnEvents } from './script.js'

export type { Script, ScriptToolCall, ScriptTurn } from './script.js'

export class ScriptedProvider implements Provider {
  readonly name = 'scripted'
  /** Every request received, in order: assert on what the agent sent. */
  readonly requests: ModelRequest[] = []
  private readonly turns: ScriptTurn[]
  private readonly caps: Partial<ModelCapabilities>
  private calls = 0

  constructor(script: Script | readonly ScriptTurn[] = [], capabilities: Partial<ModelCapabilities> = {}) {
    this.turns = [...('turns' in script ? script.turns : script)]
    this.caps = capabilities
  }

  /** Appends turns to the script. */
  push(...turns: ScriptTurn[]): void {
    this.turns.push(...turns)
  }

  remaining(): number {
    return this.turns.length
  }

  async capabilities(): Promise<Partial<ModelCapabilities>> {
    return { contextWindow: 32_768, tools: true, vision: false, reasoning: true, ...this.caps }
  }

  async *stream(request: ModelRequest, options: CallOptions = {}): AsyncGenerator<StreamEvent> {
    this.requests.push(request)
    const call = ++this.calls
    const turn = this.turns.shift()
    const aborted = () =>
      new ProviderError('aborted', 'scripted: request aborted', { provider: this.name, retryable: false })
    if (options.signal?.aborted) throw aborted()
    if (!turn) {
      throw new ProviderError('server', `scripted: the script has no turn left for call ${call}`, {
        provider: this.name,
        retryable: false,
      })
    }
    if (turn.status !== undefined && (turn.status < 200 || turn.status >= 300)) {
      throw new HttpClient(this.name).statusError(
        turn.status,
        JSON.stringify({ error: { message: turn.errorMessage ?? 'scripted error' } }),
        turn.headers ?? {},
      )
    }
    if (turn.firstByteDelayMs)
      await delay(turn.firstByteDelayMs, undefined, options.signal ? { signal: options.signal } : {}).catch(
        () => Promise.reject(aborted()),
      )
    for (const event of turnEvents(turn, (c, i) => c.id ?? `call_${call}_${i}`)) {
      if (options.signal?.aborted) throw aborted()
      if (event.type === 'tool-call-end') {
        const source = turn.toolCalls?.find((c, i) => (c.id ?? `call_${call}_${i}`) === event.id)
        const parsed = parseToolArguments(source ? argumentsText(source) : '{}')
        yield parsed.ok
          ? { ...event, input: parsed.value }
          : { ...event, input: source ? argumentsText(source) : '', inputError: parsed.error }
      } else yield event
      if (turn.chunkDelayMs)
        await delay(turn.chunkDelayMs, undefined, options.signal ? { signal: options.signal } : {}).catch(
          () => Promise.reject(aborted()),
        )
    }
    if (turn.streamError) {
      throw new ProviderError('server', `scripted: ${turn.streamError}`, {
        provider: this.name,
        retryable: false,
      })
    }
  }
}

export const scriptedProviderRef = defineService<ScriptedProvider>('provider-scripted.provider', {
  description: 'The scripted provider, to push turns and read the requests it received.',
})

const toolCall = z.object({
  id: z.string().optional(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()).optional(),
  rawArguments: z.string().optional(),
})

const turn = z.looseObject({
  reasoning: z.string().optional(),
  text: z.string().optional(),
  toolCalls: z.array(toolCall).optional(),
})

export default definePlugin({
  name: 'provider-scripted',
  description: 'A model that plays a script: for tests and demos (model refs `scripted:NAME`)',
  dependsOn: ['providers'],
  configKey: 'providers.scripted',
  config: z.strictObject({
    /** The turns to play, in order. */
    turns: z.array(turn).default([]),
    /** A JSON file with `{ "turns": [...] }`, relative to the project directory. Played after `turns`. */
    file: z.string().optional(),
    capabilities: z.record(z.string(), z.unknown()).default({}),
  }),
  setup(ctx) {
    const turns: ScriptTurn[] = [...(ctx.config.turns as ScriptTurn[])]
    if (ctx.config.file) {
      const path = resolve(ctx.paths.projectDir, ctx.config.file)
      const script = JSON.parse(readFileSync(path, 'utf8')) as Script
      turns.push(...script.turns)
    }
    const provider = new ScriptedProvider(turns, ctx.config.capabilities as Partial<ModelCapabilities>)
    ctx.resolve(providerRegistryRef).register(provider, ctx.name, { configured: turns.length > 0 })
    ctx.provide(scriptedProviderRef, provider)
  },
})
