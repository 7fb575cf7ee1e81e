/**
 * The `tools` plugin: the tool registry every tool goes into (built-ins, configs, other plugins,
 * MCP), and the built-in tools with Claude Code's names and parameters. The tools reach files
 * and processes only through the session's environment (plugins/sandbox).
 */
import { definePlugin, didYouMean } from '../../kernel/index.js'
import { askUserQuestionTool } from './builtins/ask-user-question.js'
import { bashOutputTool, killShellTool } from './builtins/background-shells.js'
import { bashTool } from './builtins/bash.js'
import { editTool } from './builtins/edit.js'
import { createGlobTool } from './builtins/glob.js'
import { createGrepTool } from './builtins/grep.js'
import { createLsTool } from './builtins/ls.js'
import { multiEditTool } from './builtins/multi-edit.js'
import { notebookEditTool } from './builtins/notebook-edit.js'
import { createReadTool } from './builtins/read.js'
import { todoWriteTool } from './builtins/todo.js'
import { webFetchTool } from './builtins/webfetch.js'
import { createWebSearchTool } from './builtins/websearch.js'
import { writeTool } from './builtins/write.js'
import { type ToolsConfig, toolsConfig } from './config.js'
import { DefaultToolRegistry } from './registry.js'
import { type Tool, toolRegistryRef } from './tool.js'

export {
  type AskUserQuestionInput,
  answersText,
  askUserQuestionTool,
  type QuestionsDisplay,
} from './builtins/ask-user-question.js'
export { BACKGROUND_SHELLS_KEY, bashOutputTool, killShellTool } from './builtins/background-shells.js'
export { bashTool } from './builtins/bash.js'
export { builtJsonSchema } from './builtins/defaults.js'
export { editTool } from './builtins/edit.js'
export { createGlobTool, globTool } from './builtins/glob.js'
export { createGrepTool, FILE_TYPES, grepTool } from './builtins/grep.js'
export { createLsTool, lsTool } from './builtins/ls.js'
export { multiEditTool } from './builtins/multi-edit.js'
export { notebookEditTool } from './builtins/notebook-edit.js'
export { createReadTool, readTool } from './builtins/read.js'
export { TODOS_KEY, type Todo, todoWriteTool } from './builtins/todo.js'
export { webFetchTool } from './builtins/webfetch.js'
export { createWebSearchTool, type SearchResult, type WebSearchInput } from './builtins/websearch.js'
export { writeTool } from './builtins/write.js'
export { type ToolsConfig, toolsConfig, type WebSearchConfig } from './config.js'
export { FILE_READS_KEY } from './file-reads.js'
export { DefaultToolRegistry, defineTool, toJsonSchema, toOutput } from './registry.js'
export { OverlayToolRegistry, type SessionTools, sessionToolsRef } from './session-tools.js'
export type {
  Tool,
  ToolContext,
  ToolOutput,
  ToolRegistry,
  ToolReturn,
  ToolSpec,
  ToolState,
} from './tool.js'
export { toolRegistryRef } from './tool.js'
export {
  inputValidationError,
  issueLines,
  isToolUseError,
  toolUseError,
  unwrapToolUseError,
} from './tool-errors.js'
export { createToolState } from './tool-state.js'
export type {
  AskQuestions,
  UserQuestion,
  UserQuestionOption,
  UserQuestionsAnswer,
  UserQuestionsRequest,
} from './user-questions.js'

/** The built-in tools, configured, in the order models see them. */
export function builtinTools(config: ToolsConfig, env: NodeJS.ProcessEnv): Tool[] {
  const tools = [
    bashTool,
    bashOutputTool,
    killShellTool,
    createGlobTool({ limit: config.glob.limit }),
    createGrepTool({
      headLimit: config.grep.headLimit,
      maxFileBytes: config.grep.maxFileBytes,
      concurrency: config.grep.concurrency,
    }),
    createLsTool({ limit: config.ls.limit }),
    createReadTool(config.read),
    editTool,
    multiEditTool,
    writeTool,
    notebookEditTool,
    webFetchTool,
    createWebSearchTool(config.webSearch, env),
    todoWriteTool,
    askUserQuestionTool,
  ]
  // Tool<I> is contravariant in I; the registry holds them as Tool (input validated before execute).
  return tools as unknown as Tool[]
}

export default definePlugin({
  name: 'tools',
  description: 'The tool registry and the built-in tools (Read, Write, Edit, Bash, Grep, Glob, ...)',
  dependsOn: ['sandbox'],
  config: toolsConfig,
  setup(ctx) {
    const registry = new DefaultToolRegistry()
    // WebSearch reads its key from the kernel's env (an embedder's own, or process.env).
    const tools = builtinTools(ctx.config, ctx.env)
    const names = tools.map((tool) => tool.name)
    for (const name of ctx.config.disabled) {
      if (!names.includes(name)) {
        ctx.logger.warn(`tools.disabled: there is no built-in tool '${name}'${didYouMean(name, names)}`)
      }
    }
    for (const tool of tools) {
      if (!ctx.config.disabled.includes(tool.name)) registry.register(tool, ctx.name)
    }
    ctx.provide(toolRegistryRef, registry)
    ctx.logger.debug('built-in tools registered', { tools: registry.list().map((tool) => tool.name) })
  },
})
