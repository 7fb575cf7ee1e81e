/**
 * Resources and prompts of the connected servers: listing (every page), reading, and the two
 * tools the model uses, named as in Claude Code: `ListMcpResourcesTool` ({ server? }) and
 * `ReadMcpResourceTool` ({ server, uri }).
 */
import { z } from 'zod'
import type { ToolResultContent } from '../../kernel/index.js'
import type { Tool } from '../tools/index.js'
import { defineTool } from '../tools/index.js'
import { contentPart, resourcePart, toolName } from './tool-adapter.js'

export interface ResourceEntry {
  readonly server: string
  readonly uri: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly mimeType?: string
  readonly size?: number
}

export interface ResourceTemplateEntry {
  readonly server: string
  readonly uriTemplate: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly mimeType?: string
}

export interface ResourceListing {
  readonly resources: ResourceEntry[]
  readonly resourceTemplates: ResourceTemplateEntry[]
  /** Servers whose listing failed, with the reason (the others are still listed). */
  readonly errors: Array<{ server: string; error: string }>
}

export interface ResourceContents {
  readonly server: string
  readonly uri: string
  readonly contents: ReadonlyArray<{ uri: string; mimeType?: string; text?: string; blob?: string }>
}

export interface PromptEntry {
  readonly server: string
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly arguments: ReadonlyArray<{ name: string; description?: string; required?: boolean }>
  /** The slash command a frontend offers for it: `mcp__<server>__<prompt>`. */
  readonly command: string
}

export interface PromptMessages {
  readonly description?: string
  readonly messages: ReadonlyArray<{ role: 'user' | 'assistant'; content: ToolResultContent[] }>
}

/** Reads a paginated list to its last page; a repeated cursor is an error (it would loop). */
export async function listAllPages<T>(
  what: string,
  page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<T[]> {
  const items: T[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  do {
    const result = await page(cursor)
    items.push(...result.items)
    cursor = result.nextCursor
    if (cursor !== undefined) {
      if (seen.has(cursor)) throw new Error(`${what} returned the cursor '${cursor}' twice`)
      seen.add(cursor)
    }
  } while (cursor !== undefined)
  return items
}

export function promptCommand(server: string, prompt: string): string {
  return toolName(server, prompt)
}

/** A prompts/get message's content as tau parts (text, image, embedded resource). */
export function promptContent(content: unknown): ToolResultContent[] {
  const items = Array.isArray(content) ? content : [content]
  return items.map((item) => contentPart(item as Parameters<typeof contentPart>[0]))
}

/** What the resource tools need of the server set. */
export interface ResourceSource {
  listResources(server?: string): Promise<ResourceListing>
  readResource(server: string, uri: string): Promise<ResourceContents>
}

function entryLine(entry: ResourceEntry | ResourceTemplateEntry): string {
  const uri = 'uri' in entry ? entry.uri : entry.uriTemplate
  const parts = [`- ${'uri' in entry ? '' : 'template '}${uri}`]
  if (entry.name && entry.name !== uri) parts.push(` "${entry.name}"`)
  if (entry.mimeType) parts.push(` (${entry.mimeType})`)
  if (entry.description) parts.push(`: ${entry.description}`)
  return parts.join('')
}

export function renderListing(listing: ResourceListing): string {
  const servers = new Set([
    ...listing.resources.map((r) => r.server),
    ...listing.resourceTemplates.map((t) => t.server),
    ...listing.errors.map((e) => e.server),
  ])
  if (servers.size === 0) return 'No resources found.'
  const lines: string[] = []
  for (const server of servers) {
    const resources = listing.resources.filter((r) => r.server === server)
    const templates = listing.resourceTemplates.filter((t) => t.server === server)
    const error = listing.errors.find((e) => e.server === server)
    lines.push(
      error
        ? `server ${server}: listing failed: ${error.error}`
        : `server ${server}: ${resources.length} resource${resources.length === 1 ? '' : 's'}, ${templates.length} template${templates.length === 1 ? '' : 's'}`,
    )
    for (const entry of resources) lines.push(entryLine(entry))
    for (const entry of templates) lines.push(entryLine(entry))
  }
  return lines.join('\n')
}

/**
 * The two resource tools. `source` may depend on the calling session (its own servers are listed
 * and read too, see session-view.ts).
 */
export function resourceTools(source: ResourceSource | ((sessionId: string) => ResourceSource)): Tool[] {
  const sourceFor = (sessionId: string): ResourceSource =>
    typeof source === 'function' ? source(sessionId) : source
  const list = defineTool({
    name: 'ListMcpResourcesTool',
    description:
      'Lists the resources (and resource templates) that connected MCP servers offer: uri, name, mime type, description. Give `server` to list only that server. Read one with ReadMcpResourceTool.',
    input: z.strictObject({
      server: z
        .string()
        .optional()
        .describe('Only this MCP server (default: every server that offers resources)'),
    }),
    annotations: { readOnly: true, idempotent: true },
    async execute(input, context) {
      const listing = await sourceFor(context.sessionId).listResources(input.server)
      return {
        content: [{ type: 'text', text: renderListing(listing) }],
        structured: listing,
      }
    },
  })
  const read = defineTool({
    name: 'ReadMcpResourceTool',
    description:
      'Reads one resource of an MCP server by its uri (as listed by ListMcpResourcesTool, or a uri filled into a resource template).',
    input: z.strictObject({
      server: z.string().describe('The MCP server name'),
      uri: z.string().min(1).describe('The resource uri'),
    }),
    annotations: { readOnly: true, idempotent: true },
    async execute(input, context) {
      const read = await sourceFor(context.sessionId).readResource(input.server, input.uri)
      const content = read.contents.map((item) => resourcePart(item))
      if (content.length === 0) content.push({ type: 'text', text: `[resource ${input.uri} is empty]` })
      return { content }
    },
  })
  return [list as unknown as Tool, read as unknown as Tool]
}
