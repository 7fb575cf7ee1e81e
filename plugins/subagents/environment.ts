/**
 * An agent's environment: where its tools run and which MCP servers it has. It becomes the
 * per-session settings of every session the agent runs in (a Task child, a hub step), keyed by
 * the plugins' config keys (`sandbox`, `mcpServers`), merged over the global config by the kernel.
 *
 * Each key is checked by its plugin's own schema here, at load, but kept as written: the kernel
 * merges these settings over the global slice, so the schema's defaults must not be filled in
 * (they would override what the global config sets).
 */
import { z } from 'zod'
import { mcpConfig } from '../mcp/index.js'
import { sandboxConfig } from '../sandbox/index.js'

/** A plugin's schema as a check that keeps the value as written (see above). */
function checkedBy(schema: z.ZodType) {
  return z.unknown().superRefine((value, ctx) => {
    const checked = schema.safeParse(value)
    if (checked.success) return
    for (const issue of checked.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: [...issue.path] })
    }
  })
}

/** The settings keys an environment may set, and the plugin that must be loaded to read each. */
export const ENVIRONMENT_KEYS = { sandbox: 'sandbox', mcpServers: 'mcp' } as const

/** Where an agent's tools run: its sessions' own settings, keyed by plugin config key. */
export const environmentSettings = z.strictObject({
  /** The sandbox config shape (mode, filesystem, network, env, roots), over the global `sandbox`. */
  sandbox: checkedBy(sandboxConfig).optional(),
  /** MCP servers only this agent's sessions connect (the `mcpServers` config shape; names no global server has). */
  mcpServers: checkedBy(mcpConfig).optional(),
})
export type EnvironmentSettings = z.infer<typeof environmentSettings>

export const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/

/** A named environment or one written in place. */
export const agentEnvironment = z.union([
  z.string().regex(ENVIRONMENT_NAME, 'an environment name (letters, digits, "-", "_")'),
  environmentSettings,
])
export type AgentEnvironment = z.infer<typeof agentEnvironment>

/** Named environments by name. */
export const environmentTable = z.record(z.string().regex(ENVIRONMENT_NAME), environmentSettings)

/**
 * Why a named environment cannot be used, or undefined when `table` defines it. `where` says who
 * names it (`the agent 'x'`), `tableName` which table was looked in.
 */
export function unknownEnvironment(
  name: string,
  table: Readonly<Record<string, unknown>>,
  where: string,
  tableName: string,
): string | undefined {
  if (Object.hasOwn(table, name)) return undefined
  const known = Object.keys(table)
  return `${where} names the environment '${name}', which ${tableName} does not define (${known.length > 0 ? `it defines: ${known.join(', ')}` : 'it defines none'})`
}

/**
 * The keys of an environment whose plugin is not loaded, as `key (plugin 'x')`. A plugin is
 * loaded when its config key is in the resolved config (the kernel refuses keys nobody reads and
 * fills each loaded plugin's slice with its defaults).
 */
export function missingPlugins(
  environment: Readonly<Record<string, unknown>>,
  rootConfig: Readonly<Record<string, unknown>>,
): string[] {
  return Object.entries(ENVIRONMENT_KEYS)
    .filter(([key]) => environment[key] !== undefined && rootConfig[key] === undefined)
    .map(([key, plugin]) => `${key} (plugin '${plugin}')`)
}
