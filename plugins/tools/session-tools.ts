/**
 * A session's own tools over the global registry. The tool registry is root-scoped (built-ins,
 * plugins, the config's MCP servers); a session can add tools of its own (the MCP servers a
 * client passes for that session), which only that session sees. The overlay answers the agent
 * session as its registry: the global tools, then the session's.
 */
import { defineService, type ToolDefinition } from '../../kernel/index.js'
import { DefaultToolRegistry, toolDefinitions } from './registry.js'
import type { Tool, ToolRegistry } from './tool.js'

/** What a session's tool source gives the agent session (see sessionToolsRef). */
export interface SessionTools {
  /** The global tools and the session's own, one registry. */
  readonly registry: ToolRegistry
  /** Resolves when the session's own tools have had their first chance to appear (servers connected or failed). */
  ready(): Promise<void>
  /** Closes the session's own tool sources (the provider's disposer calls it). */
  close(): Promise<void>
}

/**
 * A session's own tools. Declared here (the agent reads it through the tools plugin), provided
 * by the plugin that has per-session tools (mcp); a session without any resolves undefined.
 */
export const sessionToolsRef = defineService<SessionTools | undefined, 'session'>('tools.session', {
  scope: 'session',
  description: "A session's own tools (its MCP servers) over the global tool registry.",
})

export class OverlayToolRegistry implements ToolRegistry {
  private readonly own = new DefaultToolRegistry()

  constructor(private readonly base: ToolRegistry) {}

  /** Adds a tool for this session only; a name the global registry has is refused (no shadowing). */
  register(tool: Tool, plugin: string): () => void {
    if (this.base.get(tool.name))
      throw new TypeError(
        `tool '${tool.name}' is registered twice: globally and by '${plugin}' for this session`,
      )
    return this.own.register(tool, plugin)
  }

  get(name: string): Tool | undefined {
    return this.base.get(name) ?? this.own.get(name)
  }

  list(): Tool[] {
    const global = this.base.list()
    const names = new Set(global.map((tool) => tool.name))
    return [...global, ...this.own.list().filter((tool) => !names.has(tool.name))]
  }

  /** The session's own tools only. */
  ownTools(): Tool[] {
    return this.own.list()
  }

  definitions(names?: readonly string[]): ToolDefinition[] {
    return toolDefinitions(this, names)
  }

  onChange(listener: (tools: readonly Tool[]) => void): () => void {
    const fire = () => listener(this.list())
    const offBase = this.base.onChange(fire)
    const offOwn = this.own.onChange(fire)
    return () => {
      offBase()
      offOwn()
    }
  }
}
