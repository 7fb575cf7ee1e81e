/**
 * The tools of one MCP server as tau tools: listed (all pages), offered from the cache of the last
 * connection before the server is up, registered while it is, and replaced when it lists them
 * again. Calling one goes back to the connection (connection.ts), which owns the client.
 */
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from '../../kernel/index.js'
import type { Tool, ToolContext, ToolOutput, ToolRegistry } from '../tools/index.js'
import { messageOf } from './errors.js'
import type { McpClient, McpSdk } from './sdk.js'
import { inputSchemaFor, type JsonValidator, mapAnnotations, modelSchema, toolName } from './tool-adapter.js'
import { type CachedTools, cachedInput, type ToolCache } from './tool-cache.js'

export interface ServerToolsOptions {
  /** The server's name. */
  readonly name: string
  readonly registry: ToolRegistry
  readonly plugin: string
  readonly logger: Logger
  readonly toolCache?: ToolCache
  /** The cache file of this server's tools, when it has one (stdio servers whose variables are all set). */
  readonly cacheFile: () => string | undefined
  /** Waits for the first connection attempt; true when the server is connected. */
  readonly connected: () => Promise<boolean>
  /** Why the server is not connected (a tool offered from the cache says it). */
  readonly notConnected: () => string
  /** Runs a call of the server's tool `tool`. */
  readonly call: (tool: string, input: unknown, context: ToolContext) => Promise<ToolOutput>
}

export class ServerTools {
  private readonly options: ServerToolsOptions
  private readonly log: Logger
  private readonly server: string
  private registered: Array<{ name: string; unregister: () => void }> = []
  /** What the cache offered at start, until the first tools/list answers. */
  private cached: CachedTools | undefined
  /** The input schemas of the listed tools, by MCP name (what tools offered from the cache check with). */
  private readonly liveInputs = new Map<string, Tool['input']>()

  constructor(options: ServerToolsOptions) {
    this.options = options
    this.log = options.logger
    this.server = options.name
  }

  /** tau names of the registered tools (`mcp__<server>__<tool>`). */
  names(): string[] {
    return this.registered.map((t) => t.name)
  }

  get count(): number {
    return this.registered.length
  }

  /** Whether the cache (offered at start) said the server offers resources. */
  get cachedResources(): boolean {
    return this.cached?.resources === true
  }

  /**
   * Offers the tools this server listed at its last connection (the cache), so that nobody need
   * wait for it to start; a call of one waits for the connection, and the connection replaces
   * them with what the server lists now. False when there are none.
   */
  offerCached(): boolean {
    if (this.registered.length > 0) return false
    const file = this.options.cacheFile()
    const cached = file ? this.options.toolCache?.read(file, this.server) : undefined
    if (!cached || cached.tools.length === 0) return false
    this.cached = cached
    for (const mcpTool of cached.tools) {
      if (mcpTool.execution?.taskSupport === 'required') continue // as install: not offered
      const tool: Tool = this.adapt(
        mcpTool,
        cachedInput(async () => {
          const connected = await this.options.connected()
          const input = connected ? this.liveInputs.get(mcpTool.name) : undefined
          if (input) return input
          return connected
            ? `the MCP server '${this.server}' no longer offers the tool '${mcpTool.name}'`
            : this.options.notConnected()
        }),
      )
      this.register(tool, mcpTool.name)
    }
    this.log.debug(`MCP server '${this.server}': ${cached.tools.length} tools from its last connection`, {
      server: this.server,
    })
    return true
  }

  /** Registers what the server listed (and keeps it in the cache). */
  install(tools: McpTool[], resources: boolean, sdk: McpSdk): void {
    const cacheFile = this.options.cacheFile()
    if (cacheFile && !this.options.toolCache?.write(cacheFile, this.server, { tools, resources }))
      this.log.debug(`MCP server '${this.server}': its tool list was not kept in ${cacheFile}`)
    const validator = new sdk.AjvJsonSchemaValidator()
    // The same list as the cache offered: its tools stay registered (their order, and so the
    // request's tools and a provider's prompt cache, unchanged) and check with these schemas.
    const unchanged =
      this.cached !== undefined &&
      this.registered.length > 0 &&
      JSON.stringify(this.cached.tools) === JSON.stringify(tools)
    this.cached = undefined
    this.liveInputs.clear()
    if (!unchanged) this.unregister()
    for (const mcpTool of tools) {
      if (mcpTool.execution?.taskSupport === 'required') {
        this.log.debug(
          `MCP tool '${mcpTool.name}' of '${this.server}' needs tasks, which tau does not support yet`,
        )
        continue
      }
      let validate: JsonValidator | undefined
      try {
        validate = validator.getValidator(mcpTool.inputSchema as Parameters<typeof validator.getValidator>[0])
      } catch (error) {
        this.log.warn(
          `MCP tool '${mcpTool.name}' of '${this.server}' has an input schema tau cannot compile (${messageOf(error)}); its input goes to the server unchecked`,
        )
      }
      const input = inputSchemaFor(validate)
      this.liveInputs.set(mcpTool.name, input)
      if (!unchanged) this.register(this.adapt(mcpTool, input), mcpTool.name)
    }
  }

  /** The server is down: its tools go, and so does what the cache offered. */
  clear(): void {
    this.unregister()
    this.cached = undefined
  }

  unregister(): void {
    for (const { unregister } of this.registered.splice(0)) unregister()
  }

  private register(tool: Tool, mcpName: string): void {
    try {
      const unregister = this.options.registry.register(tool, this.options.plugin)
      this.registered.push({ name: tool.name, unregister })
    } catch (error) {
      this.log.warn(`MCP tool '${mcpName}' of '${this.server}' is not added: ${messageOf(error)}`)
    }
  }

  private adapt(mcpTool: McpTool, input: Tool['input']): Tool {
    const name = toolName(this.server, mcpTool.name)
    const server = this.server
    const description =
      mcpTool.description ?? mcpTool.title ?? `The tool '${mcpTool.name}' of the MCP server '${server}'.`
    return Object.freeze({
      name,
      description,
      inputSchema: modelSchema(mcpTool),
      input,
      annotations: mapAnnotations(mcpTool),
      // The server's hints are its own claims: they order parallel calls, never grant permission.
      annotationsTrusted: false,
      execute: (value: unknown, context: ToolContext) => this.options.call(mcpTool.name, value, context),
    })
  }
}

/** Every page of tools/list. */
export async function listAllTools(client: McpClient): Promise<McpTool[]> {
  const tools: McpTool[] = []
  let cursor: string | undefined
  const seen = new Set<string>()
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor })
    tools.push(...page.tools)
    cursor = page.nextCursor
    // A server that hands back a cursor it gave before would loop forever.
    if (cursor !== undefined) {
      if (seen.has(cursor)) throw new Error(`tools/list returned the cursor '${cursor}' twice`)
      seen.add(cursor)
    }
  } while (cursor !== undefined)
  return tools
}
