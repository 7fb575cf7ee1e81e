/**
 * Managed (policy) settings: an administrator's files above every other layer. The machine's
 * /etc is never touched: TAU_MANAGED_SETTINGS_DIR points the lookup at a temporary directory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { managedSettingsDirs, settingsSources } from '../../../kernel/index.js'
import { loadSettings, permissionsConfig } from '../../../plugins/permissions/settings.js'
import { readEnvAndModel } from '../../../plugins/permissions/settings-env.js'
import { Bash, setupPermissions, WebFetch, writeJson } from './helpers.js'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tau-managed-'))
  vi.stubEnv('TAU_MANAGED_SETTINGS_DIR', root)
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(root, { recursive: true, force: true })
})

const tauPolicy = () => join(root, 'tau', 'managed-settings.json')
const claudePolicy = () => join(root, 'claude-code', 'managed-settings.json')
const dropIn = (name: string, origin: 'tau' | 'claude-code' = 'claude-code') =>
  join(root, origin, 'managed-settings.d', name)
const bash = (command: string) => ({ command })

describe('where the policy files are', () => {
  it("is /etc/tau and /etc/claude-code on Linux, the platform's folders elsewhere, or under TAU_MANAGED_SETTINGS_DIR", () => {
    expect(managedSettingsDirs({}, 'linux').map((d) => d.dir)).toEqual(['/etc/tau', '/etc/claude-code'])
    expect(managedSettingsDirs({}, 'darwin').map((d) => d.dir)).toEqual([
      '/Library/Application Support/tau',
      '/Library/Application Support/ClaudeCode',
    ])
    expect(managedSettingsDirs({}, 'win32').map((d) => d.dir)).toEqual([
      'C:\\Program Files\\tau',
      'C:\\Program Files\\ClaudeCode',
    ])
    expect(managedSettingsDirs({ TAU_MANAGED_SETTINGS_DIR: '/x' }, 'linux')).toEqual([
      { origin: 'tau', dir: '/x/tau' },
      { origin: 'claude', dir: '/x/claude-code' },
    ])
  })

  it('lists the managed layers first, drop-ins in reverse name order above their base file, whatever --setting-sources says', async () => {
    await writeJson(dropIn('10-base.json'), {})
    await writeJson(dropIn('90-team.json'), {})
    await writeJson(dropIn('.hidden.json'), {})
    await writeJson(dropIn('notes.txt'), 'not settings')
    const sources = settingsSources(
      { projectDir: '/p', tauHome: '/t' },
      { sources: ['user'], settings: '{}' },
    )
    expect(sources.map((s) => [s.scope, s.file])).toEqual([
      ['managed', tauPolicy()],
      ['managed', dropIn('90-team.json')],
      ['managed', dropIn('10-base.json')],
      ['managed', claudePolicy()],
      ['cli', '--settings'],
      ['user', '/t/settings.json'],
      ['user', join(process.env.CLAUDE_CONFIG_DIR ?? '', 'settings.json')],
    ])
  })
})

describe('managed permissions', () => {
  it('deny rules of a policy file beat an allow anywhere, and its defaultMode wins over every other layer', async () => {
    await writeJson(claudePolicy(), { permissions: { deny: ['Bash(curl:*)'], defaultMode: 'plan' } })
    const s = await setupPermissions({
      config: { allow: ['Bash(curl:*)'] },
      files: { local: { permissions: { allow: ['Bash(curl:*)'], defaultMode: 'acceptEdits' } } },
    })
    try {
      expect(s.permissions.decide(Bash, bash('curl example.com'))).toMatchObject({
        behavior: 'deny',
        rule: { source: { scope: 'managed', file: claudePolicy() } },
      })
      expect(s.permissions.mode).toBe('plan')
      expect(s.permissions.rules()[0]?.source.scope).toBe('managed')
    } finally {
      await s.cleanup()
    }
  })

  it('a policy file applies in an untrusted workspace, where the project files wait', async () => {
    vi.stubEnv('TAU_TRUST', '0')
    await writeJson(tauPolicy(), { permissions: { allow: ['Bash(make)'], defaultMode: 'acceptEdits' } })
    const s = await setupPermissions({ files: { project: { permissions: { allow: ['Bash(npm test)'] } } } })
    try {
      expect(s.permissions.decide(Bash, bash('make')).behavior).toBe('allow')
      expect(s.permissions.decide(Bash, bash('npm test')).behavior).toBe('ask')
      expect(s.permissions.mode).toBe('acceptEdits')
    } finally {
      await s.cleanup()
    }
  })

  it('disableBypassPermissionsMode in a policy file refuses bypassPermissions from every source, naming the policy', async () => {
    await writeJson(claudePolicy(), { permissions: { disableBypassPermissionsMode: 'disable' } })
    const s = await setupPermissions({
      config: { defaultMode: 'bypassPermissions' },
      files: { local: { permissions: { defaultMode: 'bypassPermissions' } } },
    })
    try {
      expect(s.permissions.mode).toBe('default')
      let error: unknown
      try {
        s.permissions.setMode('bypassPermissions')
      } catch (caught) {
        error = caught
      }
      expect(error).toMatchObject({
        code: 'TAU_PERMISSION_MODE_DISABLED',
        plugin: 'permissions',
        userError: true,
        file: claudePolicy(),
      })
      expect((error as Error).message).toContain('forbidden by policy')
      expect((error as Error).message).toContain(claudePolicy())
    } finally {
      await s.cleanup()
    }
  })

  it('allowManagedPermissionRulesOnly leaves only managed rules, and reports each ignored layer', async () => {
    await writeJson(tauPolicy(), {
      allowManagedPermissionRulesOnly: true,
      permissions: { allow: ['Bash(make)'] },
    })
    const s = await setupPermissions({
      config: { allow: ['Bash(npm test)'] },
      files: {
        user: { permissions: { allow: ['WebFetch'], deny: ['Bash(make)'] } },
        local: { allowManagedPermissionRulesOnly: false, permissions: { ask: ['Bash(make)'] } },
      },
    })
    try {
      const p = s.permissions
      expect(p.decide(Bash, bash('make'))).toMatchObject({
        behavior: 'allow',
        rule: { source: { scope: 'managed' } },
      })
      expect(p.decide(Bash, bash('npm test')).behavior).toBe('ask')
      expect(p.decide(WebFetch, { url: 'https://example.com', prompt: 'x' }).behavior).toBe('ask')
      expect(p.rules().map((r) => r.source.scope)).toEqual(['managed'])
      const problems = p.problems().map((x) => x.message)
      expect(problems).toContain(
        `2 permission rules ignored by policy: allowManagedPermissionRulesOnly in ${tauPolicy()} lets only managed rules count`,
      )
      expect(problems).toContain(
        `1 permission rule ignored by policy: allowManagedPermissionRulesOnly in ${tauPolicy()} lets only managed rules count`,
      )
      expect(problems).toContain(
        'allowManagedPermissionRulesOnly counts only in managed settings (the policy files); ignored here',
      )
      // The command line and the session may narrow, not widen.
      p.setCliRules({ allow: ['Bash(npm test)'], deny: ['Bash(rm:*)'] })
      expect(p.decide(Bash, bash('npm test')).behavior).toBe('ask')
      expect(p.decide(Bash, bash('rm -rf x')).behavior).toBe('deny')
      await p.addRule('Bash(npm test)', 'allow')
      expect(p.decide(Bash, bash('npm test')).behavior).toBe('ask')
      const warnings = s.kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      expect(warnings.join('\n')).toContain('--allowed-tools Bash(npm test) ignored by policy')
      expect(warnings.join('\n')).toContain('the allow rule Bash(npm test) was not added')
    } finally {
      await s.cleanup()
    }
  })

  it('allowManagedPermissionRulesOnly in a user file is ignored, so every layer still counts', async () => {
    const s = await setupPermissions({
      files: { user: { allowManagedPermissionRulesOnly: true, permissions: { allow: ['Bash(make)'] } } },
    })
    try {
      expect(s.permissions.decide(Bash, bash('make')).behavior).toBe('allow')
    } finally {
      await s.cleanup()
    }
  })

  it('drop-ins merge in name order: the later name wins for defaultMode, rules of all count', async () => {
    await writeJson(claudePolicy(), { permissions: { defaultMode: 'default', deny: ['Bash(a)'] } })
    await writeJson(dropIn('10-security.json'), { permissions: { defaultMode: 'plan', deny: ['Bash(b)'] } })
    await writeJson(dropIn('50-platform.json'), { permissions: { defaultMode: 'acceptEdits' } })
    const loaded = loadSettings(permissionsConfig.parse({}), {
      projectDir: root,
      tauHome: join(root, 'home'),
      claudeHome: join(root, 'claude-home'),
      configFile: undefined,
    })
    expect(loaded.defaultMode).toBe('acceptEdits')
    expect(loaded.defaultModeSource).toEqual({ scope: 'managed', file: dropIn('50-platform.json') })
    expect(loaded.rules.map((r) => r.text).sort()).toEqual(['Bash(a)', 'Bash(b)'])
  })

  it('a malformed policy file stops tau with an error naming it', async () => {
    await writeJson(dropIn('20-bad.json'), '{ "permissions": { "deny": ["Bash"], } }')
    await expect(setupPermissions()).rejects.toMatchObject({
      code: 'TAU_CONFIG_LOAD',
      message: expect.stringContaining(`settings file ${dropIn('20-bad.json')} is not valid JSON: line 1`),
    })
    await writeJson(dropIn('20-bad.json'), { allowManagedPermissionRulesOnly: 'yes' })
    await expect(setupPermissions()).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      message: expect.stringContaining('allowManagedPermissionRulesOnly must be true or false, got "yes"'),
    })
  })
})

describe('managed env and model', () => {
  const paths = () => ({
    projectDir: join(root, 'project'),
    tauHome: join(root, 'home'),
    claudeHome: join(root, 'claude-home'),
    configFile: undefined,
  })

  it('a policy file sets variables over every other layer and its model ranks above the config, trusted or not', async () => {
    await writeJson(claudePolicy(), {
      env: { ANTHROPIC_BASE_URL: 'https://gateway.corp' },
      model: 'claude-sonnet-4-5',
    })
    await writeJson(join(root, 'project', '.claude', 'settings.local.json'), {
      env: { ANTHROPIC_BASE_URL: 'https://elsewhere', OTHER: '1' },
      model: 'openai:gpt-5',
    })
    await writeJson(join(root, 'home', 'settings.json'), { env: { ANTHROPIC_BASE_URL: 'https://user' } })
    const trusted = readEnvAndModel(
      paths(),
      { settings: '{"env": {"ANTHROPIC_BASE_URL": "https://cli"}}' },
      true,
    )
    expect(trusted.env).toEqual({ ANTHROPIC_BASE_URL: 'https://gateway.corp', OTHER: '1' })
    expect(trusted.managedEnv).toEqual({ ANTHROPIC_BASE_URL: 'https://gateway.corp' })
    expect(trusted.model).toEqual({
      value: 'anthropic:claude-sonnet-4-5',
      file: claudePolicy(),
      overConfig: true,
    })
    const untrusted = readEnvAndModel(paths(), {}, false)
    expect(untrusted.env).toEqual({ ANTHROPIC_BASE_URL: 'https://gateway.corp' })
    expect(untrusted.model?.file).toBe(claudePolicy())
  })
})
