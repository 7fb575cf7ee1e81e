/**
 * The one tool-definition type: what providers send to a model, what the tool registry holds,
 * and what MCP servers describe. Executable tools (plugins/tools) extend it with execute().
 */

/** A JSON Schema object, as sent to models. Kept structural: tau does not interpret it here. */
export type JsonSchema = { readonly [key: string]: unknown }

/** Hints about a tool's effects; the same four as MCP's tool annotations. */
export interface ToolAnnotations {
  /** Does not change its environment; may run in parallel with other read-only tools. */
  readonly readOnly?: boolean
  /** May delete or overwrite (only meaningful when not read-only). */
  readonly destructive?: boolean
  /** Calling it twice with the same input has no further effect. */
  readonly idempotent?: boolean
  /** Reaches outside the workspace (the web, a remote service). */
  readonly openWorld?: boolean
}

export interface ToolDefinition {
  readonly name: string
  readonly description: string
  /** JSON Schema of the input object. */
  readonly inputSchema: JsonSchema
  readonly annotations?: ToolAnnotations
}

const TOOL_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/

/** Tool names must be accepted by every provider: letters, digits, `_` and `-`, at most 64. */
export function isValidToolName(name: string): boolean {
  return TOOL_NAME.test(name)
}
