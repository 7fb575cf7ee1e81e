import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import permissions, { permissionsRef } from '../../../plugins/permissions/index.js'
import { Bash, makeDirs, Read, setupPermissions, WebFetch, writeJson } from './helpers.js'

const bash = (command: string) => ({ command })

describe('settings files', () => {
  it('reads rules from the project, local and user settings files and the config, each with its source', async () => {
    const s = await setupPermissions({
      config: { allow: ['Bash(make)'] },
      files: {
        project: { permissions: { allow: ['Bash(npm test:*)'] } },
        local: { permissions: { allow: ['Bash(git status)'] } },
        user: { permissions: { deny: ['WebFetch'] }, theme: 'dark' },
      },
    })
    try {
      const p = s.permissions
      expect(p.decide(Bash, bash('npm test'))).toMatchObject({
        behavior: 'allow',
        rule: { source: { scope: 'project', file: join(s.dir, '.tau', 'settings.json') } },
      })
      expect(p.decide(Bash, bash('git status'))).toMatchObject({
        rule: { source: { scope: 'local', file: join(s.dir, '.tau', 'settings.local.json') } },
      })
      expect(p.decide(Bash, bash('make'))).toMatchObject({
        behavior: 'allow',
        rule: { source: { scope: 'config' } },
      })
      expect(p.decide(WebFetch, { url: 'https://example.com', prompt: 'x' })).toMatchObject({
        behavior: 'deny',
        rule: { source: { scope: 'user', file: join(s.tauHome, 'settings.json') } },
      })
      // Reported in order: local, project, config, user.
      expect(p.rules().map((r) => r.source.scope)).toEqual(['local', 'project', 'config', 'user'])
    } finally {
      await s.cleanup()
    }
  })

  it('a deny in any file beats an allow in any other; defaultMode follows local > project > config > user', async () => {
    const s = await setupPermissions({
      config: { defaultMode: 'plan' },
      files: {
        user: { permissions: { deny: ['Bash(git push:*)'], defaultMode: 'bypassPermissions' } },
        local: { permissions: { allow: ['Bash(git push:*)'], defaultMode: 'acceptEdits' } },
        project: { permissions: { defaultMode: 'default' } },
      },
    })
    try {
      expect(s.permissions.decide(Bash, bash('git push'))).toMatchObject({
        behavior: 'deny',
        rule: { source: { scope: 'user' } },
      })
      expect(s.permissions.mode).toBe('acceptEdits')
    } finally {
      await s.cleanup()
    }
    const t = await setupPermissions({
      config: { defaultMode: 'plan' },
      files: { user: { permissions: { defaultMode: 'acceptEdits' } }, project: { permissions: {} } },
    })
    try {
      expect(t.permissions.mode).toBe('plan')
    } finally {
      await t.cleanup()
    }
  })

  it('ignores bypassPermissions as defaultMode in the shared project settings, and says so', async () => {
    const s = await setupPermissions({
      files: { project: { permissions: { defaultMode: 'bypassPermissions' } } },
    })
    try {
      expect(s.permissions.mode).toBe('default')
      expect(s.permissions.problems()).toContainEqual(
        expect.objectContaining({
          source: expect.objectContaining({ scope: 'project' }),
          message: expect.stringContaining('ignored'),
        }),
      )
    } finally {
      await s.cleanup()
    }
  })

  it('disableBypassPermissionsMode forbids bypassPermissions from any source', async () => {
    const s = await setupPermissions({
      config: { defaultMode: 'bypassPermissions' },
      files: { user: { permissions: { disableBypassPermissionsMode: 'disable' } } },
    })
    try {
      expect(s.permissions.mode).toBe('default')
      expect(() => s.permissions.setMode('bypassPermissions')).toThrow(/disabled/)
    } finally {
      await s.cleanup()
    }
  })

  it('additionalDirectories widen the workspace', async () => {
    const { dir: extra, tauHome: unused } = await makeDirs()
    const s = await setupPermissions({
      files: { local: { permissions: { additionalDirectories: [extra] } } },
    })
    try {
      expect(s.permissions.directories).toContain(extra)
      expect(s.permissions.decide(Read, { file_path: join(extra, 'a.txt') }).behavior).toBe('allow')
    } finally {
      await s.cleanup()
      await rm(extra, { recursive: true, force: true })
      await rm(unused, { recursive: true, force: true })
    }
  })

  it('reports unknown keys in a permissions object, with a suggestion', async () => {
    const s = await setupPermissions({ files: { project: { permissions: { dney: ['Bash'] } } } })
    try {
      expect(s.permissions.problems()).toContainEqual(
        expect.objectContaining({
          message: expect.stringContaining(
            "permissions.dney is not a permissions setting and is ignored (did you mean 'deny'?)",
          ),
        }),
      )
      expect(s.kernel.logs.some((r) => r.level === 'warn' && r.message.includes('permissions.dney'))).toBe(
        true,
      )
    } finally {
      await s.cleanup()
    }
  })

  for (const [scope, name] of [
    ['project', '.tau/settings.json'],
    ['local', '.tau/settings.local.json'],
    ['user', 'settings.json'],
  ] as const) {
    it(`stops with an error naming ${name} when it is not valid JSON`, async () => {
      const { dir, tauHome } = await makeDirs()
      try {
        const file = scope === 'user' ? join(tauHome, 'settings.json') : join(dir, name)
        await writeJson(file, '{\n  "permissions": {\n    "allow": ["Bash(npm test:*)",]\n  }\n}\n')
        await expect(createTestKernel({ plugins: [permissions], cwd: dir, tauHome })).rejects.toMatchObject({
          code: 'TAU_CONFIG_LOAD',
          plugin: 'permissions',
          message: expect.stringMatching(
            new RegExp(`${file.replaceAll('.', '\\.')} is not valid JSON.*line 3`),
          ),
        })
      } finally {
        await rm(dir, { recursive: true, force: true })
        await rm(tauHome, { recursive: true, force: true })
      }
    })
  }

  it('stops with an error naming the file and the field when the shape is wrong', async () => {
    const { dir, tauHome } = await makeDirs()
    try {
      const file = join(dir, '.tau', 'settings.json')
      await writeJson(file, { permissions: { allow: ['Read', 42], defaultMode: 'yolo' } })
      const error = await createTestKernel({ plugins: [permissions], cwd: dir, tauHome }).catch(
        (e: unknown) => e,
      )
      expect(error).toMatchObject({
        code: 'TAU_CONFIG_INVALID',
        plugin: 'permissions',
        message: expect.stringContaining(
          `settings file ${file}: permissions.allow[1]: expected string, got 42`,
        ),
        details: expect.arrayContaining([
          expect.stringContaining('permissions.defaultMode: expected one of'),
        ]),
      })
      await writeJson(file, { permissions: ['Read'] })
      await expect(createTestKernel({ plugins: [permissions], cwd: dir, tauHome })).rejects.toMatchObject({
        code: 'TAU_CONFIG_INVALID',
        message: expect.stringContaining('permissions: expected object'),
      })
      await writeJson(file, '["not", "an", "object"]')
      await expect(createTestKernel({ plugins: [permissions], cwd: dir, tauHome })).rejects.toMatchObject({
        code: 'TAU_CONFIG_INVALID',
        message: expect.stringContaining('expected a JSON object at the top'),
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
      await rm(tauHome, { recursive: true, force: true })
    }
  })

  it('rejects a config slice of the wrong shape, naming the field', async () => {
    await expect(
      createTestKernel({ plugins: [permissions], config: { permissions: { allow: 'Bash' } } }),
    ).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'permissions',
      message: expect.stringContaining('permissions.allow'),
    })
  })
})

describe('addRule with persist', () => {
  it("persist: 'local' creates .tau/settings.local.json and the rule applies at once", async () => {
    const s = await setupPermissions()
    try {
      expect(s.permissions.decide(Bash, bash('npm test')).behavior).toBe('ask')
      await s.permissions.addRule('Bash(npm test:*)', 'allow', { persist: 'local' })
      const file = join(s.dir, '.tau', 'settings.local.json')
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
        permissions: { allow: ['Bash(npm test:*)'] },
      })
      expect(s.permissions.decide(Bash, bash('npm test -- --watch'))).toMatchObject({
        behavior: 'allow',
        rule: { source: { scope: 'local', file } },
      })
      // A session created later in this process sees the persisted rule too.
      const later = s.kernel.createSession().resolve(permissionsRef)
      expect(later.decide(Bash, bash('npm test')).behavior).toBe('allow')
    } finally {
      await s.cleanup()
    }
  })

  it('keeps the other keys of an existing file, does not add a rule twice, and keeps concurrent writes', async () => {
    const s = await setupPermissions({
      files: {
        local: {
          env: { A: '1' },
          permissions: { deny: ['WebFetch'], allow: ['Read'], defaultMode: 'acceptEdits' },
        },
      },
    })
    try {
      const file = join(s.dir, '.tau', 'settings.local.json')
      const before = (await stat(file)).mode
      await Promise.all([
        s.permissions.addRule('Bash(a)', 'allow', { persist: 'local' }),
        s.permissions.addRule('Bash(b)', 'allow', { persist: 'local' }),
        s.permissions.addRule('Bash(c)', 'ask', { persist: 'local' }),
      ])
      await s.permissions.addRule('Bash(a)', 'allow', { persist: 'local' })
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
        env: { A: '1' },
        permissions: {
          deny: ['WebFetch'],
          allow: ['Read', 'Bash(a)', 'Bash(b)'],
          defaultMode: 'acceptEdits',
          ask: ['Bash(c)'],
        },
      })
      expect((await stat(file)).mode).toBe(before)
    } finally {
      await s.cleanup()
    }
  })

  it("persist: 'user' writes <tauHome>/settings.json; 'project' writes .tau/settings.json", async () => {
    const s = await setupPermissions()
    try {
      await s.permissions.addRule('WebFetch(domain:example.com)', 'allow', { persist: 'user' })
      await s.permissions.addRule('Bash(rm:*)', 'deny', { persist: 'project' })
      expect(JSON.parse(await readFile(join(s.tauHome, 'settings.json'), 'utf8'))).toEqual({
        permissions: { allow: ['WebFetch(domain:example.com)'] },
      })
      expect(JSON.parse(await readFile(join(s.dir, '.tau', 'settings.json'), 'utf8'))).toEqual({
        permissions: { deny: ['Bash(rm:*)'] },
      })
    } finally {
      await s.cleanup()
    }
  })

  it('does not overwrite a settings file that became invalid JSON, and does not add the rule', async () => {
    const s = await setupPermissions({ tools: [Bash] })
    try {
      const file = join(s.dir, '.tau', 'settings.local.json')
      await writeJson(file, '{ "permissions": ')
      await expect(s.permissions.addRule('Bash(make)', 'allow', { persist: 'local' })).rejects.toMatchObject({
        code: 'TAU_CONFIG_LOAD',
        message: expect.stringContaining(file),
      })
      expect(await readFile(file, 'utf8')).toBe('{ "permissions": ')
      expect(s.permissions.decide(Bash, bash('make')).behavior).toBe('ask')
    } finally {
      await s.cleanup()
    }
  })

  it('works without a tools plugin, persisting included', async () => {
    const { dir, tauHome } = await makeDirs()
    try {
      const kernel = await createTestKernel({ plugins: [permissions], cwd: dir, tauHome })
      const p = kernel.createSession().resolve(permissionsRef)
      expect(p.decide(Read, { file_path: 'a' }).behavior).toBe('allow')
      expect(p.decide(Bash, bash('make')).behavior).toBe('ask')
      await p.addRule('Bash(make)', 'allow', { persist: 'local' })
      expect(p.decide(Bash, bash('make')).behavior).toBe('allow')
      expect(p.explain('Write(src/a.ts)')).toMatchObject({ behavior: 'ask', mode: 'default' })
      await kernel.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
      await rm(tauHome, { recursive: true, force: true })
    }
  })
})
