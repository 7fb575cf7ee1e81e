/**
 * scaffold's second public file: the project scan and the files' templates the package's root
 * entry re-exports, kept out of index.ts so that loading the plugin (every start of tau, through
 * the presets) does not initialise them: `tau init` and `tau plugin new` load them with `import()`.
 * Plugins import index.ts only (test/plugins/public-files.test.ts).
 */
export { AGENT_INIT_PROMPT } from './agent-memory.js'
export { configFile, memoryFile, settingsFile, settingsRules } from './init-files.js'
export { camelCase, PLUGIN_NAME, pluginFiles } from './plugin-template.js'
export { scanProject } from './project-scan.js'
