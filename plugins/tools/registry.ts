/** defineTool() and the tool registry. */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { z } from 'zod'
import { isValidToolName, type JsonSchema, type ToolDefinition } from '../../kernel/index.js'
import type { Tool, ToolOutput, ToolRegistry, ToolReturn, ToolSpec } from './tool.js'

/** JSON Schema for a zod schema, as models expect it (no $schema, inputs as the model writes them). */
export function toJsonSchema(schema: StandardSchemaV1): JsonSchema {
  if (schema instanceof z.ZodType) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>
    return rest
  }
  throw new TypeError('a tool whose input is not a zod schema must give its jsonSchema')
}

/**
 * A `z.object` input refuses the keys it does not name, as Claude Code's tools do (a model that
 * sends `path` for `file_path` learns it, instead of the key being dropped): validated as
 * `.strict()`; the JSON Schema the model sees stays the object's. `z.looseObject` (and any
 * other schema) validates as written.
 */
function strictInput(schema: StandardSchemaV1): StandardSchemaV1 {
  return schema instanceof z.ZodObject && schema._zod.def.catchall === undefined ? schema.strict() : schema
}

/** Makes a tool from a spec: validates the name, derives the JSON Schema from the zod input. */
export function defineTool<S extends StandardSchemaV1>(
  spec: ToolSpec<S>,
): Tool<StandardSchemaV1.InferOutput<S>> {
  if (!isValidToolName(spec.name)) {
    throw new TypeError(
      `defineTool('${spec.name}'): a tool name is letters, digits, '_' and '-', at most 64, starting with a letter`,
    )
  }
  const tool: Tool<StandardSchemaV1.InferOutput<S>> = {
    name: spec.name,
    description: spec.description,
    inputSchema: spec.jsonSchema ?? toJsonSchema(spec.input),
    input: strictInput(spec.input) as StandardSchemaV1<unknown, StandardSchemaV1.InferOutput<S>>,
    annotations: spec.annotations ?? {},
    execute: spec.execute,
    ...(spec.access ? { access: spec.access } : {}),
    ...(spec.permissionTarget ? { permissionTarget: spec.permissionTarget } : {}),
  }
  return Object.freeze(tool)
}

/** A tool's return value in its full form. */
export function toOutput(value: ToolReturn): ToolOutput {
  return typeof value === 'string' ? { content: [{ type: 'text', text: value }] } : value
}

/** What the model is told of a registry's tools: all of them, or those of `names` it has, in that order. */
export function toolDefinitions(
  registry: Pick<ToolRegistry, 'get' | 'list'>,
  names?: readonly string[],
): ToolDefinition[] {
  const tools = names
    ? names.map((n) => registry.get(n)).filter((t): t is Tool => t !== undefined)
    : registry.list()
  return tools.map(({ name, description, inputSchema, annotations }) => ({
    name,
    description,
    inputSchema,
    annotations,
  }))
}

export class DefaultToolRegistry implements ToolRegistry {
  private readonly tools = new Map<string, { tool: Tool; plugin: string }>()
  private readonly listeners = new Set<(tools: readonly Tool[]) => void>()

  register(tool: Tool, plugin: string): () => void {
    const existing = this.tools.get(tool.name)
    if (existing) {
      throw new TypeError(
        `tool '${tool.name}' is registered twice: by '${existing.plugin}' and by '${plugin}'`,
      )
    }
    const entry = { tool, plugin }
    this.tools.set(tool.name, entry)
    this.changed()
    return () => {
      if (this.tools.get(tool.name) === entry) {
        this.tools.delete(tool.name)
        this.changed()
      }
    }
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name)?.tool
  }

  list(): Tool[] {
    return [...this.tools.values()].map((entry) => entry.tool)
  }

  definitions(names?: readonly string[]): ToolDefinition[] {
    return toolDefinitions(this, names)
  }

  onChange(listener: (tools: readonly Tool[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(): void {
    const tools = this.list()
    for (const listener of this.listeners) listener(tools)
  }
}
