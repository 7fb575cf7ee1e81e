/**
 * The tool contract. A tool is a name, a description, an input schema (a zod schema, sent to
 * models as JSON Schema), annotations, and `execute(input, ctx)`. Built-ins, users' configs,
 * other plugins and MCP servers all add tools the same way: `ctx.resolve(toolRegistryRef).register(tool)`.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import {
  defineService,
  type JsonSchema,
  type Logger,
  type ToolAnnotations,
  type ToolDefinition,
  type ToolResultContent,
} from '../../kernel/index.js'
import type { Environment, NetworkGate } from '../sandbox/index.js'
import type { AskQuestions } from './user-questions.js'

/** What a tool gets besides its input. */
export interface ToolContext {
  /** Aborted when the turn is cancelled: stop at once, kill processes. */
  readonly signal: AbortSignal
  /** Files and processes: always through here, never `fs` or `child_process` directly. */
  readonly env: Environment
  readonly sessionId: string
  /** The tool call's id. */
  readonly callId: string
  /** Per-session state shared by tools (files read and when, Bash's working directory, todos). */
  readonly state: ToolState
  /** Reports progress; it reaches the event stream as `tool-progress`. */
  progress(message: string, data?: unknown): void
  readonly logger: Logger
  /** What the current model can do (Read returns images only when it has vision). */
  readonly model: { readonly vision: boolean }
  /**
   * Whether a deny rule covers this absolute real path for this tool (Permissions.pathDenial);
   * absent when none can. Tools that search or list many paths (Grep, Glob, LS) leave out what
   * it covers: decide() sees only the search root, not each path found under it.
   */
  readonly isDenied?: ((path: string) => boolean) | undefined
  /**
   * Decides a host a sandboxed process asks for beyond the sandbox's allowlist (the permission
   * flow: `Network(domain:...)` rules, then the user); tools that run processes pass it to
   * exec/spawn as `onNetworkRequest`. Absent (no agent loop, headless without rules): refused.
   */
  readonly askNetwork?: NetworkGate | undefined
  /**
   * Puts questions to the session's user (AskUserQuestion), one question set at a time with the
   * session's other questions. Absent outside an agent session; a frontend that asks nobody
   * (headless) answers `declined` with its reason.
   */
  readonly askQuestions?: AskQuestions | undefined
}

/** A session's tool state: a typed key-value map, created per session, never shared. */
export interface ToolState {
  get<T>(key: string): T | undefined
  set<T>(key: string, value: T): void
}

export interface ToolOutput {
  readonly content: readonly ToolResultContent[]
  /** The tool failed: the model sees the content as an error. */
  readonly isError?: boolean
  /** Machine-readable result (MCP structuredContent), passed along untouched. */
  readonly structured?: unknown
  /** Extra data for frontends (a diff to render, the todo list); not sent to the model. */
  readonly display?: unknown
}

/** A tool may return plain text; it becomes one text part. */
export type ToolReturn = ToolOutput | string

export interface Tool<I = unknown> extends ToolDefinition {
  /** Validates input before execute(); the JSON Schema sent to models is `inputSchema`. */
  readonly input: StandardSchemaV1<unknown, I>
  readonly annotations: ToolAnnotations
  execute(input: I, context: ToolContext): Promise<ToolReturn>
  /**
   * What permission rules match for this call: Bash -> the command, Read/Edit/Write -> the file
   * path, WebFetch -> the URL. Rules like `Bash(npm test:*)` match against it. Default: nothing
   * (only bare `ToolName` rules match).
   */
  permissionTarget?(input: I): string | undefined
  /** Which file-access kind the tool is for path rules: read (Read, Glob, Grep, LS) or edit (Edit, Write). */
  readonly access?: 'read' | 'edit'
  /**
   * False when the annotations come from someone tau does not vouch for (an MCP server): they
   * still order parallel execution, but permissions never allow anything because of them.
   */
  readonly annotationsTrusted?: boolean
}

export interface ToolSpec<S extends StandardSchemaV1> {
  name: string
  description: string
  /** A zod object schema (or another Standard Schema together with `jsonSchema`). */
  input: S
  /** JSON Schema for models; derived from a zod schema when left out. */
  jsonSchema?: JsonSchema
  annotations?: ToolAnnotations
  access?: 'read' | 'edit'
  permissionTarget?(input: StandardSchemaV1.InferOutput<S>): string | undefined
  execute(input: StandardSchemaV1.InferOutput<S>, context: ToolContext): Promise<ToolReturn>
}

/** The registry of tools: root-scoped, filled at setup by every plugin that adds tools. */
export interface ToolRegistry {
  /** Adds a tool. Two tools of one name is an error naming both plugins. Returns a function that removes it. */
  register(tool: Tool, plugin: string): () => void
  get(name: string): Tool | undefined
  list(): Tool[]
  /** The definitions sent to a model, optionally limited to some names. */
  definitions(names?: readonly string[]): ToolDefinition[]
  /** Called with the new list when tools are added or removed (MCP list_changed). */
  onChange(listener: (tools: readonly Tool[]) => void): () => void
}

export const toolRegistryRef = defineService<ToolRegistry>('tools.registry', {
  description: 'Every tool the agent can call: built-ins, config, plugins, MCP.',
})
