/**
 * Hooks of the managed (policy) files: they run first, in any workspace, and their
 * allowManagedHooksOnly / disableAllHooks decide which other hooks run. TAU_MANAGED_SETTINGS_DIR
 * points the lookup at a temporary directory: the machine's /etc is never touched.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { loadHooks } from '../../../plugins/command-hooks/index.js'
import trust from '../../../plugins/trust/index.js'
import { bash, harness, hook, project } from './helpers.js'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tau-managed-hooks-'))
  vi.stubEnv('TAU_MANAGED_SETTINGS_DIR', root)
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(root, { recursive: true, force: true })
})

async function policy(value: unknown, name = 'managed-settings.json'): Promise<string> {
  const file =
    name === 'managed-settings.json'
      ? join(root, 'claude-code', name)
      : join(root, 'claude-code', 'managed-settings.d', name)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, JSON.stringify(value))
  return file
}

describe('managed hooks', () => {
  it('run in an untrusted workspace, where the project hooks wait', async () => {
    vi.stubEnv('TAU_TRUST', '0')
    const p = await project()
    await policy({ hooks: hook('PreToolUse', 'touch "$CLAUDE_PROJECT_DIR/from-managed"') })
    await p.write('.tau/settings.json', JSON.stringify({ hooks: hook('PreToolUse', 'touch from-project') }))
    const h = await harness({
      project: p,
      plugins: [trust],
      hooks: hook('PreToolUse', 'touch from-config'),
      config: { permissions: { allow: ['Bash'] } },
      turns: [bash('c1', 'true'), { text: 'ok' }],
    })
    await h.run('go')
    expect(existsSync(join(p.dir, 'from-managed'))).toBe(true)
    expect(existsSync(join(p.dir, 'from-config'))).toBe(true)
    expect(existsSync(join(p.dir, 'from-project'))).toBe(false)
  })

  it('allowManagedHooksOnly runs only the managed hooks and says which were not run', async () => {
    const p = await project()
    const file = await policy({
      allowManagedHooksOnly: true,
      hooks: hook('PreToolUse', 'touch from-managed'),
    })
    await p.write(
      '.tau/settings.local.json',
      JSON.stringify({ hooks: hook('PreToolUse', 'touch from-local') }),
    )
    const h = await harness({
      project: p,
      hooks: hook('PreToolUse', 'touch from-config'),
      config: { permissions: { allow: ['Bash'] } },
      turns: [bash('c1', 'true'), { text: 'ok' }],
    })
    await h.run('go')
    expect(existsSync(join(p.dir, 'from-managed'))).toBe(true)
    expect(existsSync(join(p.dir, 'from-config'))).toBe(false)
    expect(existsSync(join(p.dir, 'from-local'))).toBe(false)
    expect(h.warnings()).toContain(
      `1 hook of ${join(p.dir, '.tau', 'settings.local.json')} not run by policy: allowManagedHooksOnly in ${file}`,
    )
  })

  it('come first; disableAllHooks in a user file stops every hook but them; in a policy file, all of them', async () => {
    const paths = {
      projectDir: join(root, 'project'),
      tauHome: join(root, 'home'),
      claudeHome: join(root, 'claude-home'),
      configFile: undefined,
    }
    const user = join(paths.tauHome, 'settings.json')
    await policy({ hooks: hook('Stop', 'echo managed') })
    await mkdir(paths.tauHome, { recursive: true })
    const config = hook('Stop', 'echo config') as Parameters<typeof loadHooks>[0]
    await writeFile(user, JSON.stringify({ hooks: hook('Stop', 'echo user') }))
    expect(loadHooks(config, paths).entries.map((e) => [e.command, e.source.scope])).toEqual([
      ['echo managed', 'managed'],
      ['echo config', 'config'],
      ['echo user', 'user'],
    ])
    await writeFile(user, JSON.stringify({ disableAllHooks: true, hooks: hook('Stop', 'echo user') }))
    const off = loadHooks(config, paths)
    expect(off.entries.map((e) => e.command)).toEqual(['echo managed'])
    expect(off.problems).toContain(`1 hook of ${user} not run: disableAllHooks in ${user}`)
    const file = await policy({ disableAllHooks: true }, '90-off.json')
    const none = loadHooks(config, paths)
    expect(none.entries).toEqual([])
    expect(none.problems.join('\n')).toContain(`not run by policy: disableAllHooks in ${file}`)
  })

  it('allowManagedHooksOnly outside a policy file is reported and changes nothing', async () => {
    const p = await project()
    await p.write(
      '.tau/settings.json',
      JSON.stringify({ allowManagedHooksOnly: true, hooks: hook('PreToolUse', 'touch from-project') }),
    )
    const h = await harness({
      project: p,
      config: { permissions: { allow: ['Bash'] } },
      turns: [bash('c1', 'true'), { text: 'ok' }],
    })
    await h.run('go')
    expect(existsSync(join(p.dir, 'from-project'))).toBe(true)
    expect(h.warnings().join('\n')).toContain('allowManagedHooksOnly in')
    expect(h.warnings().join('\n')).toContain('counts only in managed settings')
  })
})
