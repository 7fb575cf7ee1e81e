/**
 * `provider-ollama`: local models through Ollama's native API (model refs `ollama:qwen3:8b`).
 * Chat with streaming, tools, thinking, images and structured output; embeddings; the installed
 * models and their live capabilities; `tau doctor` checks.
 */
import { definePlugin } from '../../kernel/index.js'
import { HttpClient, httpSettingsRef, providerRegistryRef } from '../providers/index.js'
import { ollamaConfig } from './config.js'
import { normalizeOllamaHost } from './host.js'
import { OllamaProvider } from './provider.js'

export { type OllamaChatRequest, type OllamaProviderOptions, thinkValue } from './chat-request.js'
export { ollamaConfig } from './config.js'
export { DEFAULT_OLLAMA_HOST, normalizeOllamaHost, type OllamaAddress } from './host.js'
export { OllamaProvider, type OllamaSettings } from './provider.js'

/** The model name in an Ollama error ("model 'qwen3:8b' not found", `model "x" not found, try pulling it first`). */
function modelIn(message: string): string | undefined {
  return /model ['"]([^'"]+)['"]/.exec(message)?.[1]
}

/** Ollama reads a string keep_alive as a Go duration, where a bare number (`'-1'`) is an error: send it as seconds. */
export function keepAliveValue(value: string | number | undefined): string | number | undefined {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value
}

export default definePlugin({
  name: 'provider-ollama',
  description: 'Ollama: local models over the native API (model refs `ollama:NAME`)',
  dependsOn: ['providers'],
  configKey: 'providers.ollama',
  config: ollamaConfig,
  setup(ctx) {
    const config = ctx.config
    // The kernel's env (an embedder's own, or process.env for the tau command), settings' `env` in it.
    const env = ctx.env
    const source =
      config.host !== undefined ? 'providers.ollama.host' : 'OLLAMA_HOST (or providers.ollama.host)'
    const address = normalizeOllamaHost(config.host ?? env.OLLAMA_HOST)
    const headers: Record<string, string> = {}
    if (address.authorization) headers.authorization = address.authorization
    // Like the official clients: OLLAMA_API_KEY is sent to ollama.com only, never to other hosts.
    const apiKey = env.OLLAMA_API_KEY
    if (apiKey && new URL(address.baseUrl).hostname === 'ollama.com')
      headers.authorization = `Bearer ${apiKey}`
    Object.assign(headers, config.headers)
    // The init line's apiKeySource: what set the authorization header that is sent, if any.
    const keySource = Object.keys(config.headers).some((name) => name.toLowerCase() === 'authorization')
      ? 'providers.ollama.headers'
      : headers.authorization === undefined
        ? 'none'
        : headers.authorization === `Bearer ${apiKey}`
          ? 'OLLAMA_API_KEY'
          : config.host !== undefined
            ? 'providers.ollama.host'
            : 'OLLAMA_HOST'
    const http = new HttpClient('ollama', ctx.resolve(httpSettingsRef), {
      authVariable: 'OLLAMA_API_KEY',
      notFound: (message) => {
        const model = modelIn(message)
        return model
          ? `Pull the model first: \`ollama pull ${model}\` (\`ollama list\` shows what is installed).`
          : `Is ${address.baseUrl} an Ollama server? Check ${source}.`
      },
      unreachable: (origin) =>
        `Nothing is listening at ${origin}: is \`ollama serve\` running there? Start it, or point ${source} at the address it listens on.`,
    })
    const provider = new OllamaProvider(
      http,
      {
        baseUrl: address.baseUrl,
        headers,
        keepAlive: keepAliveValue(config.keepAlive),
        numCtx: config.numCtx,
        thinkLevels: config.thinkLevels,
        keySource,
      },
      ctx.logger,
    )
    // With no host set anywhere, Ollama is only the default local address, not a choice the user made.
    const configured = config.host !== undefined || env.OLLAMA_HOST !== undefined
    ctx.resolve(providerRegistryRef).register(provider, ctx.name, { configured })
    ctx.logger.debug('ollama provider ready', { host: address.baseUrl })
    return () => http.close()
  },
})
