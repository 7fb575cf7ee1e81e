/**
 * The built-in tools with limits (Glob, Grep, LS, Read) are made once with their defaults when
 * their module loads (`globTool`, `grepTool`, ...: the package exports them), and again by the
 * tools plugin from its config (plugins/tools/index.ts). With the config's defaults, which are the
 * tools' defaults, that second tool is the same: the factory gives back the first one instead of
 * building its input schema and JSON Schema again (a few milliseconds of every start).
 */
import type { JsonSchema } from '../../../kernel/index.js'

/** True when every setting has the default's value (so the tool made from them is the default one). */
export function areDefaults<T extends object>(settings: T, defaults: T): boolean {
  const keys = Object.keys(settings) as (keyof T)[]
  return (
    keys.length === Object.keys(defaults).length &&
    keys.every((key) => Object.is(settings[key], defaults[key]))
  )
}

/**
 * The JSON Schemas of the built-in tools made with their defaults (and of Skill, Task and
 * ExitPlanMode, which other plugins make from one input each), by tool name: computed by the
 * build from these same sources (scripts/bundle-bin.mjs, toolJsonSchemas) and written into the
 * bundled command, so that a start does not derive each from its zod input again (the same
 * result every time: about 5 ms of CPU at every start). Not defined from source (tests, the
 * library's dist/): there each is computed as its tool is made, as for every other tool.
 */
// A string of JSON, parsed once here: an object given to esbuild's define becomes a module of its
// own, whose init call esbuild puts into every other module of the bundle.
declare const __TAU_TOOL_JSON_SCHEMAS__: string | undefined
const BUILT_JSON_SCHEMAS: Readonly<Record<string, JsonSchema>> | undefined =
  typeof __TAU_TOOL_JSON_SCHEMAS__ === 'string' ? JSON.parse(__TAU_TOOL_JSON_SCHEMAS__) : undefined

/**
 * The build's JSON Schema of tau's own tool `name` made with its defaults, or undefined (not
 * built, or not one of those). Only for a tool made with every default setting from its module's
 * input: its JSON Schema is then the one the build derived. (Exported for tau's other plugins.)
 */
export function builtJsonSchema(name: string): JsonSchema | undefined {
  return BUILT_JSON_SCHEMAS?.[name]
}
