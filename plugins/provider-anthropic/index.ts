/**
 * `provider-anthropic`: Claude through Anthropic's Messages API (`anthropic:claude-sonnet-4-5`),
 * directly or on Azure AI Foundry (by base URL and auth header). Streams over SSE with thinking,
 * tool use and prompt caching; lists models; checks itself for `tau doctor`. No embeddings.
 */
import { definePlugin } from '../../kernel/index.js'
import { HttpClient, httpSettingsRef, providerRegistryRef } from '../providers/index.js'
import { anthropicConfig, DEFAULT_BASE_URL } from './config.js'
import { AnthropicProvider, PROVIDER } from './provider.js'

export { type AnthropicConfig, anthropicConfig } from './config.js'
export { AnthropicProvider, capabilitiesOf, normalizeBaseURL } from './provider.js'
export { type MessagesBody, toMessagesRequest } from './request.js'
export { errorKind, readMessagesStream } from './stream.js'

export default definePlugin({
  name: 'provider-anthropic',
  description:
    'Claude through the Anthropic Messages API, also on Azure AI Foundry (model refs `anthropic:MODEL`)',
  dependsOn: ['providers'],
  configKey: 'providers.anthropic',
  config: anthropicConfig,
  setup(ctx) {
    const { baseURL, apiKey, ...rest } = ctx.config
    // The kernel's env (an embedder's own, or process.env for the tau command), settings' `env` in it.
    const env = ctx.env
    const settings = {
      ...rest,
      baseURL: baseURL ?? env.ANTHROPIC_BASE_URL ?? DEFAULT_BASE_URL,
      apiKey: apiKey ?? env[rest.apiKeyVariable],
      apiKeySource:
        apiKey !== undefined
          ? 'providers.anthropic.apiKey'
          : env[rest.apiKeyVariable]
            ? rest.apiKeyVariable
            : 'none',
    }
    const httpSettings = ctx.resolve(httpSettingsRef)
    const http = new HttpClient(PROVIDER, httpSettings, {
      authVariable: rest.apiKeyVariable,
      notFound: (message) =>
        `Check the model name (\`tau doctor\` lists what is available; on Azure AI Foundry use the deployment name).${
          message ? ` The server said: ${message}` : ''
        }`,
      unreachable: (origin) =>
        `Nothing answers at ${origin}: check providers.anthropic.baseURL or ANTHROPIC_BASE_URL.`,
    })
    const provider = new AnthropicProvider(http, settings, httpSettings.retries, ctx.logger)
    const configured = settings.apiKey !== undefined || settings.baseURL !== DEFAULT_BASE_URL
    ctx.resolve(providerRegistryRef).register(provider, ctx.name, { configured })
    return () => provider.close()
  },
})
