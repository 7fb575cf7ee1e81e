/**
 * `tau-agent/testing`: the test kit for plugin authors. createTestKernel runs the real kernel in a
 * fresh temporary working directory and TAU_HOME with log records captured; here it knows the
 * built-in presets (`preset: 'coding'`) and adds the built-in plugins a plugin under test
 * depends on (`dependsOn: ['tools']` loads tools and, through it, sandbox). The scripted model
 * comes in two forms: the `provider-scripted` plugin (`model: 'scripted:any'`, turns in config or
 * pushed through scriptedProviderRef) and startScriptedServer(), which speaks the Ollama, OpenAI
 * and Anthropic wire formats on loopback.
 */
import {
  createTestKernel as createKernelForTest,
  type TestKernel,
  type TestKernelOptions,
} from '../kernel/testing/index.js'
import { builtinPresets } from '../presets/index.js'
import { builtinPlugins } from './plugins.js'

export { type LogRecord, TestKernel, type TestKernelOptions } from '../kernel/testing/index.js'
export {
  type Script,
  ScriptedProvider,
  type ScriptToolCall,
  type ScriptTurn,
  scriptedProviderRef,
} from '../plugins/provider-scripted/index.js'
export {
  type ScriptedServer,
  type ScriptedServerOptions,
  startScriptedServer,
  type WireFormat,
} from '../plugins/provider-scripted/server.js'

/** A started test kernel; built-in presets by name and built-in plugins as dependencies. */
export function createTestKernel(options: TestKernelOptions = {}): Promise<TestKernel> {
  return createKernelForTest({
    ...options,
    presets: { ...builtinPresets, ...options.presets },
    available: { ...builtinPlugins, ...options.available },
  })
}
