/**
 * `provider-openai`: the Chat Completions wire, for
 *
 * - `openai:MODEL`        OpenAI ($OPENAI_BASE_URL or api.openai.com, $OPENAI_API_KEY as Bearer),
 * - `azure:DEPLOYMENT`    Azure OpenAI / Azure AI Foundry ($AZURE_OPENAI_ENDPOINT, $AZURE_OPENAI_API_KEY
 *                         as `api-key`; the v1, deployments and model-inference URL forms),
 * - `NAME:MODEL`          each OpenAI-compatible server named in `providers.openai.compatible`
 *                         (LM Studio, vLLM, llama.cpp, OpenRouter, ...).
 *
 * Connections are made on first use; setup only reads config and environment.
 */
import { definePlugin, type Logger } from '../../kernel/index.js'
import {
  type HttpSettings,
  httpSettingsRef,
  type ProviderHints,
  type ProviderRegistry,
  providerRegistryRef,
} from '../providers/index.js'
import { openaiConfig } from './config.js'
import { azureEndpoint, compatibleEndpoint, type Endpoint, openaiEndpoint } from './endpoints.js'
import { OpenAIProvider } from './provider.js'
import { OpenAIHttpClient } from './wire-errors.js'

export type { AzureConfig, CompatibleServerConfig, OpenAIConfig } from './config.js'
export { openaiConfig } from './config.js'
export type { AzureStyle, Endpoint, Flavour } from './endpoints.js'
export { OpenAIProvider } from './provider.js'

function hintsFor(endpoint: Endpoint): ProviderHints {
  const variable = endpoint.keyVariable
  switch (endpoint.flavour) {
    case 'openai':
      return {
        ...(variable ? { authVariable: variable } : {}),
        notFound: () =>
          'Check the model name (`openai:gpt-4o`, `openai:o4-mini`, ...) and that your key has access to it.',
        unreachable: (origin) =>
          `Nothing answers at ${origin}: check OPENAI_BASE_URL or providers.openai.baseURL.`,
      }
    case 'azure':
      return {
        ...(variable ? { authVariable: variable } : {}),
        notFound: () =>
          'The model part of an azure ref is the deployment name (`azure:my-gpt-4o`): check it exists on the resource at AZURE_OPENAI_ENDPOINT.' +
          (endpoint.azureStyle === 'deployments'
            ? ' A wrong api-version (OPENAI_API_VERSION) also answers 404.'
            : ''),
        unreachable: (origin) =>
          `Nothing answers at ${origin}: check AZURE_OPENAI_ENDPOINT or providers.openai.azure.endpoint.`,
      }
    default:
      return {
        authVariable: variable ?? `providers.openai.compatible.${endpoint.provider}.apiKeyEnv`,
        notFound: () =>
          `Check that the model is loaded in the ${endpoint.provider} server (its GET /models lists the names it accepts).`,
        unreachable: (origin) =>
          `Start the ${endpoint.provider} server at ${origin}, or fix providers.openai.compatible.${endpoint.provider}.baseURL.`,
      }
  }
}

function providerFor(
  endpoint: Endpoint,
  settings: HttpSettings,
  registry: ProviderRegistry,
  logger: Logger,
): OpenAIProvider {
  const http = new OpenAIHttpClient(endpoint.provider, settings, hintsFor(endpoint), endpoint.secrets)
  return new OpenAIProvider({
    endpoint,
    http,
    logger,
    capabilitiesOf: (model, options) =>
      registry.capabilities({ provider: endpoint.provider, model }, options),
  })
}

export default definePlugin({
  name: 'provider-openai',
  description:
    'OpenAI, Azure OpenAI / Azure AI Foundry, and OpenAI-compatible servers (LM Studio, vLLM, llama.cpp, OpenRouter, ...)',
  dependsOn: ['providers'],
  configKey: 'providers.openai',
  config: openaiConfig,
  setup(ctx) {
    const registry = ctx.resolve(providerRegistryRef)
    const settings = ctx.resolve(httpSettingsRef)
    // The kernel's env (an embedder's own, or process.env for the tau command), settings' `env` in it.
    const env = ctx.env
    const endpoints: Endpoint[] = [openaiEndpoint(ctx.config, env), azureEndpoint(ctx.config.azure, env)]
    for (const [name, server] of Object.entries(ctx.config.compatible)) {
      endpoints.push(compatibleEndpoint(name, server, env))
    }
    const providers: OpenAIProvider[] = []
    for (const endpoint of endpoints) {
      const provider = providerFor(endpoint, settings, registry, ctx.logger.child(endpoint.provider))
      registry.register(provider, ctx.name, { configured: endpoint.missing === undefined })
      providers.push(provider)
      ctx.logger.debug('provider registered', {
        provider: endpoint.provider,
        where: endpoint.where,
        ...(endpoint.missing ? { missing: endpoint.missing } : {}),
      })
    }
    return async () => {
      await Promise.all(providers.map((provider) => provider.close()))
    }
  },
})
