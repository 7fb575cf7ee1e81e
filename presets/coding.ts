import { definePreset } from '../kernel/index.js'
import providerAnthropic from '../plugins/provider-anthropic/index.js'
import providerOllama from '../plugins/provider-ollama/index.js'
import providerOpenai from '../plugins/provider-openai/index.js'
import providerScripted from '../plugins/provider-scripted/index.js'
import providers from '../plugins/providers/index.js'

/**
 * The coding agent, as its capabilities land: today the model providers (Ollama, OpenAI /
 * Azure / compatible servers, Anthropic, and the scripted model for demos and tests) and
 * `tau doctor`. The agent loop, tools and the terminal come next.
 */
export default definePreset({
  name: 'coding',
  description: 'The coding agent (the default preset).',
  extends: 'minimal',
  plugins: [providers, providerOllama, providerOpenai, providerAnthropic, providerScripted],
})
