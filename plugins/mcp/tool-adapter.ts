/**
 * MCP tools as tau tools: the name (`mcp__<server>__<tool>`, provider-safe, at most 64), the
 * input schema (passed through to the model, and checked against the server's JSON Schema with
 * the SDK's own validator before the call), the annotations, and the result mapped in full.
 */
import { createHash } from 'node:crypto'
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { JsonSchema, ToolAnnotations, ToolResultContent } from '../../kernel/index.js'
import type { ToolOutput } from '../tools/index.js'

const MAX_NAME = 64

/** `mcp__<server>__<tool>` in letters, digits, `_` and `-`; too long -> cut, with a hash of the whole. */
export function toolName(server: string, tool: string): string {
  const full = `mcp__${server}__${tool}`
  const safe = full.replace(/[^a-zA-Z0-9_-]/g, '_')
  if (safe.length <= MAX_NAME) return safe
  // A cut name ends in a hash of the whole, so two long names with one prefix stay apart.
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8)
  return `${safe.slice(0, MAX_NAME - 9)}_${hash}`
}

export function mapAnnotations(tool: McpTool): ToolAnnotations {
  const hints = tool.annotations ?? {}
  return {
    ...(typeof hints.readOnlyHint === 'boolean' ? { readOnly: hints.readOnlyHint } : {}),
    ...(typeof hints.destructiveHint === 'boolean' ? { destructive: hints.destructiveHint } : {}),
    ...(typeof hints.idempotentHint === 'boolean' ? { idempotent: hints.idempotentHint } : {}),
    ...(typeof hints.openWorldHint === 'boolean' ? { openWorld: hints.openWorldHint } : {}),
  }
}

/** Checks a value against a JSON Schema; the SDK's Ajv-backed validator in practice. */
export type JsonValidator = (input: unknown) => { valid: boolean; errorMessage?: string | undefined }

/**
 * The tool's input as a Standard Schema. A missing input becomes `{}` (models send nothing for
 * tools without parameters). When no validator could be built for the server's schema, the
 * input passes through and the server validates it.
 */
export function inputSchemaFor(validate: JsonValidator | undefined): StandardSchemaV1<unknown, unknown> {
  return {
    '~standard': {
      version: 1,
      vendor: 'tau-mcp',
      validate(value: unknown) {
        const input = value === undefined || value === null ? {} : value
        if (typeof input !== 'object' || Array.isArray(input)) {
          return { issues: [{ message: 'expected an object of arguments' }] }
        }
        if (!validate) return { value: input }
        const result = validate(input)
        return result.valid
          ? { value: input }
          : { issues: [{ message: result.errorMessage ?? 'does not match the input schema' }] }
      },
    },
  }
}

/** The JSON Schema sent to models: the server's, with the `$schema` marker dropped. */
export function modelSchema(tool: McpTool): JsonSchema {
  const { $schema: _drop, ...rest } = tool.inputSchema as Record<string, unknown>
  return { type: 'object', ...rest }
}

type Content = CallToolResult['content'][number]

/** The contents of a resource (embedded, or read with resources/read) as one part. */
export function resourcePart(res: {
  uri: string
  mimeType?: string | undefined
  text?: unknown
  blob?: unknown
}): ToolResultContent {
  const mime = res.mimeType ? ` (${res.mimeType})` : ''
  if (typeof res.text === 'string') return { type: 'text', text: `[resource ${res.uri}${mime}]\n${res.text}` }
  const blob = typeof res.blob === 'string' ? res.blob : ''
  if (res.mimeType?.startsWith('image/')) return { type: 'image', mediaType: res.mimeType, data: blob }
  return {
    type: 'text',
    text: `[resource ${res.uri}${mime}, ${approxBytes(blob)} bytes of binary data, not shown to the model]`,
  }
}

export function contentPart(item: Content): ToolResultContent {
  switch (item.type) {
    case 'text':
      return { type: 'text', text: item.text }
    case 'image':
      return { type: 'image', mediaType: item.mimeType, data: item.data }
    case 'audio':
      // No provider takes audio in tool results yet: the model learns that it exists.
      return {
        type: 'text',
        text: `[audio ${item.mimeType}, ${approxBytes(item.data)} bytes, not shown to the model]`,
      }
    case 'resource':
      return resourcePart(item.resource)
    case 'resource_link': {
      const parts = [`[resource link ${item.uri}`]
      if (item.name) parts.push(` "${item.name}"`)
      if (item.mimeType) parts.push(` (${item.mimeType})`)
      parts.push(']')
      if (item.description) parts.push(` ${item.description}`)
      return { type: 'text', text: parts.join('') }
    }
    default:
      return { type: 'text', text: JSON.stringify(item) }
  }
}

function approxBytes(base64: string): number {
  return Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0)
}

/** A tools/call result as a tau tool output. */
export function mapResult(result: Record<string, unknown>): ToolOutput {
  // Servers on protocol 2024-10-07 answer with `toolResult` instead of `content`.
  if (!Array.isArray(result.content)) {
    const legacy = 'toolResult' in result ? result.toolResult : result
    return { content: [{ type: 'text', text: JSON.stringify(legacy) }] }
  }
  const typed = result as CallToolResult
  const content = typed.content.map(contentPart)
  const structured = typed.structuredContent
  if (content.length === 0 && structured !== undefined) {
    // The spec asks servers to repeat structured content as text; when one does not, the model
    // still needs to see it.
    content.push({ type: 'text', text: JSON.stringify(structured) })
  }
  return {
    content,
    ...(typed.isError === true ? { isError: true } : {}),
    ...(structured === undefined ? {} : { structured }),
  }
}
