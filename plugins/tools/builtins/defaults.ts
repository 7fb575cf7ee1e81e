/**
 * The built-in tools with limits (Glob, Grep, LS, Read) are made once with their defaults when
 * their module loads (`globTool`, `grepTool`, ...: the package exports them), and again by the
 * tools plugin from its config (plugins/tools/index.ts). With the config's defaults, which are the
 * tools' defaults, that second tool is the same: the factory gives back the first one instead of
 * building its input schema and JSON Schema again (a few milliseconds of every start).
 */

/** True when every setting has the default's value (so the tool made from them is the default one). */
export function areDefaults<T extends object>(settings: T, defaults: T): boolean {
  const keys = Object.keys(settings) as (keyof T)[]
  return (
    keys.length === Object.keys(defaults).length &&
    keys.every((key) => Object.is(settings[key], defaults[key]))
  )
}
