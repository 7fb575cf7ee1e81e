/**
 * The kernel's public surface (`tau-agent/kernel`; the package root, sdk/index.ts, re-exports it
 * with every plugin's public file). Plugins import the kernel from here.
 */

// The hook classes, so plugins declare hooks without a tapable dependency (and one copy of it).
export {
  AsyncParallelHook,
  AsyncSeriesBailHook,
  AsyncSeriesHook,
  AsyncSeriesWaterfallHook,
  SyncBailHook,
  SyncHook,
  SyncWaterfallHook,
} from 'tapable'
export { type AssembleOptions, type Assembly, assemble, type PresetCatalog } from './assemble.js'
export {
  type CliArgument,
  type CliCommand,
  type CliCommandContext,
  type CliOption,
  cliCommandsRef,
} from './commands.js'
export { defineConfig, KERNEL_CONFIG_KEYS, mergeConfig, type TauConfig } from './config.js'
export { type LoadConfigOptions, type LoadedConfig, loadConfig, SEARCH_PLACES } from './config-loader.js'
export {
  type CatalogueEntry,
  defineErrors,
  ERRORS,
  type ErrorCode,
  type ErrorSpec,
  errorCatalogue,
  formatError,
  isTauError,
  type KernelErrorCode,
  messageOf,
  TauError,
  type TauErrorOptions,
} from './errors.js'
export { type Frontend, type FrontendRunContext, frontendRef } from './frontend.js'
export { frontmatterLanguage, parseFrontmatter, SAFE_MATTER_OPTIONS, splitTools } from './frontmatter.js'
export {
  defineHooks,
  type HookInfo,
  type HooksRef,
  type KernelHooks,
  kernelHooksRef,
  type LifecycleContext,
  type RawConfig,
  STAGE,
  type StopContext,
  type TapOnlyHook,
  type TapOptions,
  type TapView,
} from './hooks.js'
export { lazySchema, lazySchemaDefaults } from './lazy-schema.js'
export {
  createKernel,
  Kernel,
  type KernelOptions,
  type KernelState,
  type PluginReport,
  resolvePaths,
  type Session,
  type SessionOptions,
} from './lifecycle.js'
export {
  createLogger,
  isSecretField,
  type Logger,
  type LogLevel,
  type LogRecord,
  type LogSink,
  maskSecrets,
} from './logger.js'
export {
  defaultExport,
  importModule,
  type PackageModules,
  type PackageModulesLoader,
  setPackageModules,
} from './module-loader.js'
export {
  type ConfigureApi,
  definePlugin,
  definePreset,
  isPlugin,
  isPreset,
  type KernelPaths,
  type PluginContext,
  type PluginDefinition,
  type PluginEntry,
  type Preset,
  type PresetDefinition,
  type TauPlugin,
  type Teardown,
} from './plugin.js'
export type { ConfigProblem, StandardSchemaV1 } from './schema.js'
export {
  type Disposer,
  defineService,
  type Resolved,
  type ServiceRef,
  type ServiceRefOptions,
  type ServiceScope,
  type SessionFactory,
  type SessionInfo,
} from './services.js'
export {
  claudeSettingsFile,
  defaultClaudeHome,
  type ManagedSettingsDir,
  managedMcpFiles,
  managedSettingsDirs,
  type SettingsLocation,
  type SettingsScope,
  type SettingsSelection,
  type SettingsSource,
  settingsSources,
  tauSettingsFile,
} from './settings-files.js'
export { closest, didYouMean } from './suggest.js'
export * from './types/index.js'
export { tauVersion } from './version.js'
