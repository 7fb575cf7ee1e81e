/**
 * Generates the `references/` of the shipped `tau-plugin-authoring` skill from the code: every
 * hook (name and tapable kind from the kernels of the built-in presets, arguments and timing from
 * the row docs/hooks.md has for it), every config key (from each plugin's schema, with its
 * default), every error code (the catalogue). test/plugins/skills/shipped.test.ts fails when a
 * file is stale; `UPDATE_REFERENCE=1 npx vitest run test/plugins/skills` writes them.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { errorCatalogue, KERNEL_CONFIG_KEYS, type TauPlugin } from '../../../kernel/index.js'
import { createTestKernel } from '../../../kernel/testing/index.js'
import { builtinPresets } from '../../../presets/index.js'

export const REPO = fileURLToPath(new URL('../../..', import.meta.url))
export const REFERENCES_DIR = `${REPO}skills/tau-plugin-authoring/references`

export interface CodeFacts {
  /** Hook name -> tapable kind and the plugin that declares it. */
  readonly hooks: ReadonlyMap<string, { kind: string; owner: string }>
  /** Every config path: kernel keys, each plugin's key and the keys below it. */
  readonly configPaths: ReadonlySet<string>
  /** Config rows in order: path, plugin, default (JSON) or undefined. */
  readonly configRows: ReadonlyArray<{ path: string; plugin: string; default: string | undefined }>
  /** Service ids of the built-in plugins. */
  readonly services: ReadonlySet<string>
  readonly errorCodes: ReadonlySet<string>
}

interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  default?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
}

/** The object schema inside an optional/nullable union, if there is exactly one. */
function objectOf(schema: JsonSchema): JsonSchema | undefined {
  if (schema.properties) return schema
  const members = (schema.anyOf ?? schema.oneOf ?? []).filter((m) => m.properties)
  return members.length === 1 ? members[0] : undefined
}

function walk(
  schema: JsonSchema,
  path: string,
  plugin: string,
  rows: Array<{ path: string; plugin: string; default: string | undefined }>,
): void {
  const object = objectOf(schema)
  if (!object?.properties) return
  for (const [key, child] of Object.entries(object.properties)) {
    const childPath = `${path}.${key}`
    const nested = objectOf(child)
    rows.push({
      path: childPath,
      plugin,
      // An object's default is the sum of its children's: shown on them, not here.
      default: nested || child.default === undefined ? undefined : JSON.stringify(child.default),
    })
    if (nested) walk(nested, childPath, plugin, rows)
  }
}

function schemaRows(plugin: TauPlugin, configKey: string) {
  const rows: Array<{ path: string; plugin: string; default: string | undefined }> = []
  const schema = plugin.config
  if (!(schema instanceof z.ZodType)) return rows
  let json: JsonSchema
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  } catch {
    return rows
  }
  walk(json, configKey, plugin.name, rows)
  return rows
}

/** Boots every built-in preset (setup only) and collects what the references list. */
export async function codeFacts(): Promise<CodeFacts> {
  const hooks = new Map<string, { kind: string; owner: string }>()
  const services = new Set<string>()
  const rows = new Map<string, { path: string; plugin: string; default: string | undefined }>()
  for (const key of KERNEL_CONFIG_KEYS) rows.set(key, { path: key, plugin: 'kernel', default: undefined })
  for (const load of Object.values(builtinPresets)) {
    const kernel = await createTestKernel({ preset: await load(), presets: builtinPresets, start: false })
    try {
      await kernel.start({ until: 'setup' })
      for (const hook of kernel.listHooks()) hooks.set(hook.name, { kind: hook.kind, owner: hook.owner })
      const plugins = new Map(kernel.plugins.map((p) => [p.name, p]))
      for (const report of kernel.report()) {
        for (const id of report.services) services.add(id)
        if (!rows.has(report.configKey))
          rows.set(report.configKey, { path: report.configKey, plugin: report.name, default: undefined })
        const plugin = plugins.get(report.name)
        if (plugin)
          for (const row of schemaRows(plugin, report.configKey))
            if (!rows.has(row.path)) rows.set(row.path, row)
      }
    } finally {
      await kernel.stop()
    }
  }
  const configRows = [...rows.values()]
  return {
    hooks,
    configPaths: new Set(configRows.map((r) => r.path)),
    configRows,
    services,
    errorCodes: new Set(errorCatalogue().keys()),
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')
const HEADER = (what: string) =>
  `<!-- Generated from tau's code by test/plugins/skills/skill-references.ts: do not edit. ${what} -->\n`

/** The rows of docs/hooks.md by hook name: arguments and when it fires. */
function hookDocs(): Map<string, { args: string; when: string }> {
  const text = readFileSync(`${REPO}docs/hooks.md`, 'utf8')
  const rows = new Map<string, { args: string; when: string }>()
  for (const line of text.split('\n')) {
    const m = /^\| `([a-z-]+\.[A-Za-z]+)` \| \w+ \| (.*) \| (.*) \|$/.exec(line)
    if (m) rows.set(m[1]!, { args: m[2]!, when: m[3]! })
  }
  return rows
}

export function hooksReference(facts: CodeFacts): string {
  const docs = hookDocs()
  const lines = [
    HEADER('Regenerate: UPDATE_REFERENCE=1 npx vitest run test/plugins/skills'),
    '# Hooks',
    '',
    'Every hook of the built-in plugins. Tap one from a plugin with',
    '`ctx.hooksOf(ref).<hook>.tapPromise(fn)` (async hooks) or `.tap(fn)` (sync ones); the kernel',
    'hooks are `ctx.hooks.start`, `ctx.hooks.ready` and `ctx.hooks.stop`. Waterfall taps return the',
    'value; bail taps return a decision or `undefined` to pass.',
    '',
    '| hook | kind | declared by | arguments | when |',
    '|---|---|---|---|---|',
  ]
  const names = [...facts.hooks.keys()].sort((a, b) => {
    const ka = a.startsWith('kernel.') ? 0 : 1
    const kb = b.startsWith('kernel.') ? 0 : 1
    return ka - kb || a.localeCompare(b)
  })
  for (const name of names) {
    const { kind, owner } = facts.hooks.get(name)!
    const doc = docs.get(name)
    lines.push(`| \`${name}\` | ${kind} | ${owner} | ${doc?.args ?? ''} | ${doc?.when ?? ''} |`)
  }
  return `${lines.join('\n')}\n`
}

export function configReference(facts: CodeFacts): string {
  const lines = [
    HEADER('Regenerate: UPDATE_REFERENCE=1 npx vitest run test/plugins/skills'),
    '# Config keys',
    '',
    "Every key tau.config.ts may set with the built-in plugins, from each plugin's schema, with its",
    "default where it has one. Kernel keys first, then each plugin in setup order. A plugin's own",
    'README explains its keys.',
    '',
    '| key | plugin | default |',
    '|---|---|---|',
  ]
  for (const row of facts.configRows)
    lines.push(
      `| \`${row.path}\` | ${row.plugin} | ${row.default === undefined ? '' : `\`${cell(row.default)}\``} |`,
    )
  return `${lines.join('\n')}\n`
}

export function errorsReference(): string {
  const lines = [
    HEADER('Regenerate: UPDATE_REFERENCE=1 npx vitest run test/plugins/skills'),
    '# Error codes',
    '',
    'Every error code tau raises: `TauError` instances with `code`, `message`, `plugin`, `hook`,',
    '`hint`. A plugin declares its own with `defineErrors(owner, { TAU_AREA_WHAT: { title, hint, userError } })`.',
    '',
    '| code | from | what went wrong | what to do |',
    '|---|---|---|---|',
  ]
  const rank = (owner: string) => (owner === 'kernel' ? '' : owner)
  const entries = [...errorCatalogue()]
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => rank(a.entry[1].owner).localeCompare(rank(b.entry[1].owner)) || a.i - b.i)
  for (const { entry } of entries) {
    const [code, spec] = entry
    lines.push(`| \`${code}\` | ${spec.owner} | ${cell(spec.title)} | ${cell(spec.hint)} |`)
  }
  return `${lines.join('\n')}\n`
}
