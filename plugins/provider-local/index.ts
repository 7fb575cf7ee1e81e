/**
 * `provider-local`: GGUF models run in-process on node-llama-cpp (model refs
 * `local:./model.gguf`, `local:hf:USER/REPO/FILE.gguf`, `local:hf:USER/REPO:QUANT`), no model
 * server needed. node-llama-cpp is an optional peer dependency, imported only when a `local:`
 * model is used. Adds `tau models pull|list|rm`, and picks a downloaded model when no model is
 * configured.
 */
import { join, resolve } from 'node:path'
import { cliCommandsRef, definePlugin } from '../../kernel/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { LocalBackend } from './backend.js'
import { modelsCommands } from './commands.js'
import { localConfig } from './config.js'
import { DEFAULT_HF_ENDPOINT } from './hub.js'
import { LocalProvider, listModelFiles } from './provider.js'

export { defaultThreads, LocalBackend, NODE_LLAMA_CPP_VERSION, type NodeLlamaCppImporter } from './backend.js'
export { toChatHistory } from './chat-history.js'
export { type LocalConfig, localConfig } from './config.js'
export { type DownloadOptions, type DownloadProgress, downloadFile } from './download.js'
export { LOCAL_ERRORS } from './errors.js'
export { type GgufSummary, readGgufSummary } from './gguf-header.js'
export { type HubFile, resolveHubFile } from './hub.js'
export {
  JsonAnswerStream,
  jsonToolsSchema,
  parseJsonReply,
  type ToolFormat,
  toJsonToolHistory,
} from './json-tools.js'
export { type LocalModelRef, localPathOf, parseLocalRef } from './model-ref.js'
export { progressLine } from './progress.js'
export { LocalProvider, listModelFiles, type ModelFile } from './provider.js'
export { normalizeToolSchema, stripOptionalNulls } from './tool-schema.js'

function modelsDirOf(configured: string | undefined, tauHome: string): string {
  return configured === undefined ? join(tauHome, 'models') : resolve(tauHome, configured)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export default definePlugin({
  name: 'provider-local',
  description:
    'Local GGUF models in-process on node-llama-cpp (model refs `local:PATH.gguf`, `local:hf:...`)',
  dependsOn: ['providers'],
  configKey: 'providers.local',
  config: localConfig,
  async configure(config, api) {
    // No model anywhere in config: a downloaded local model is the default (the newest).
    const agent = config.agent
    if (config.model !== undefined || (isRecord(agent) && agent.model !== undefined)) return undefined
    const providers = config.providers
    const local = isRecord(providers) && isRecord(providers.local) ? providers.local : {}
    const dir = modelsDirOf(
      typeof local.modelsDir === 'string' ? local.modelsDir : undefined,
      api.paths.tauHome,
    )
    const newest = (await listModelFiles(dir))[0]
    if (newest === undefined) return undefined
    api.logger.info(`no model configured: using the downloaded local:${newest.ref}`)
    return { ...config, model: `local:${newest.ref}` }
  },
  setup(ctx) {
    const config = ctx.config
    const modelsDir = modelsDirOf(config.modelsDir, ctx.paths.tauHome)
    const backend = new LocalBackend({
      gpu: config.gpu,
      threads: config.threads,
      contextSize: config.contextSize,
      sequences: config.sequences,
      logger: ctx.logger.child('llama'),
      binaryTestDir: join(ctx.paths.tauHome, 'cache', 'llama-binary-test'),
    })
    const provider = new LocalProvider(
      backend,
      { modelsDir, cwd: ctx.paths.cwd, contextSize: config.contextSize, toolFormat: config.toolFormat },
      ctx.logger,
    )
    // Only a `local:` model makes it count as set up (for `tau doctor`).
    ctx.resolve(providerRegistryRef).register(provider, ctx.name, { configured: false })
    for (const command of modelsCommands({
      modelsDir,
      hfEndpoint: config.hfEndpoint ?? ctx.env.TAU_HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT,
      idleTimeoutMs: config.downloadIdleTimeoutMs,
      cwd: ctx.paths.cwd,
      env: ctx.env,
    }))
      ctx.provide(cliCommandsRef, command)
    return () => provider.close()
  },
})
