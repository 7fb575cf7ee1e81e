/**
 * Keeps the references in docs/ in step with the code: every hook that exists is listed in
 * docs/hooks.md with its tapable kind, every error code in docs/errors.md with its title and
 * hint, every kernel config key and built-in plugin config key in docs/config.md, and the
 * example on docs/plugins.md is the tested example's code.
 *
 * docs/errors.md's table is generated: run `UPDATE_REFERENCE=1 npx vitest run test/docs` after
 * changing kernel/errors.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { errorCatalogue, KERNEL_CONFIG_KEYS } from '../../kernel/index.js'
import { createTestKernel } from '../../kernel/testing/index.js'
import { builtinPresets } from '../../presets/index.js'

const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url))
const read = (name: string) => readFileSync(docs(name), 'utf8')

/** Boots each built-in preset (setup only) and returns its kernels' hooks and plugins. */
async function everyPreset() {
  const hooks = new Map<string, string>()
  const configKeys = new Set<string>()
  for (const [name, load] of Object.entries(builtinPresets)) {
    const kernel = await createTestKernel({ preset: await load(), presets: builtinPresets, start: false })
    await kernel.start({ until: 'setup' })
    for (const hook of kernel.listHooks()) hooks.set(hook.name, hook.kind)
    for (const plugin of kernel.report()) configKeys.add(plugin.configKey)
    await kernel.stop()
    expect(name).toBeTruthy()
  }
  return { hooks, configKeys }
}

const rank = (owner: string) => (owner === 'kernel' ? '' : owner)

describe('reference docs', () => {
  it('docs/hooks.md lists every hook with its tapable kind, and no hook that does not exist', async () => {
    const { hooks } = await everyPreset()
    const text = read('hooks.md')
    const listed = new Map(
      [...text.matchAll(/^\| `([a-z-]+\.[A-Za-z]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]),
    )
    expect(hooks.size).toBeGreaterThan(0)
    for (const [name, kind] of hooks) expect({ name, kind: listed.get(name) }).toEqual({ name, kind })
    for (const name of listed.keys())
      expect(hooks.has(name), `docs/hooks.md lists '${name}', which does not exist`).toBe(true)
  })

  it("docs/errors.md has the generated table of every error code, the kernel's and every built-in plugin's", async () => {
    // Loading every preset loads every built-in plugin module, and with it its error codes.
    await everyPreset()
    const table = [
      '| code | from | what went wrong | what to do |',
      '|---|---|---|---|',
      // Kernel codes first, then each owner's in name order, each in declaration order.
      ...[...errorCatalogue()]
        .map((entry, i) => ({ entry, i }))
        .sort((a, b) => rank(a.entry[1].owner).localeCompare(rank(b.entry[1].owner)) || a.i - b.i)
        .map(({ entry }) => entry)
        .map(
          ([code, spec]) =>
            `| \`${code}\` | ${spec.owner} | ${spec.title} | ${spec.hint.replaceAll('|', '\\|')} |`,
        ),
    ].join('\n')
    const begin = '<!-- errors:begin -->'
    const end = '<!-- errors:end -->'
    let text = read('errors.md')
    const current = text.slice(text.indexOf(begin) + begin.length, text.indexOf(end)).trim()
    if (process.env.UPDATE_REFERENCE && current !== table) {
      text = `${text.slice(0, text.indexOf(begin) + begin.length)}\n${table}\n${text.slice(text.indexOf(end))}`
      writeFileSync(docs('errors.md'), text)
      return
    }
    expect(current, 'docs/errors.md is stale: run UPDATE_REFERENCE=1 npx vitest run test/docs').toBe(table)
  })

  it('docs/config.md documents every kernel key and every built-in plugin config key', async () => {
    const { configKeys } = await everyPreset()
    const text = read('config.md')
    for (const key of [...KERNEL_CONFIG_KEYS, ...configKeys]) expect(text).toContain(`\`${key}\``)
  })

  it('docs/plugins.md shows the example plugin and its test exactly as they are in docs/examples', () => {
    const text = read('plugins.md')
    const blocks = [...text.matchAll(/```ts[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1])
    expect(blocks).toContain(read('examples/audit-log/index.ts'))
    expect(blocks).toContain(read('examples/audit-log/audit-log.test.ts'))
  })
})
