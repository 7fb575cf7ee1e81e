import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createTestKernel } from '../../../kernel/testing/index.js'
import permissions, { permissionsRef } from '../../../plugins/permissions/index.js'
import { runCommand, setupPermissions } from './helpers.js'

describe('rules that can never match', () => {
  it('are reported when config loads: logged as warnings and listed by problems()', async () => {
    const s = await setupPermissions({
      config: {
        allow: [
          'Bahs(npm test)',
          'Bash(npm:* test)',
          'Bash(',
          'Read(!src/**)',
          'WebFetch(https://example.com)',
          'WebFetch(domain:example.com:8080)',
          'mcp__github(create)',
          'TodoWrite(x)',
          'Glob*',
          'Bash(git push:*)',
        ],
        deny: ['Bash(git push:*)', 'Edit(src/*/../x)', 'Read(/etc/hosts)'],
      },
    })
    try {
      const problems = s.permissions.problems()
      const about = (rule: string) => problems.filter((p) => p.rule === rule).map((p) => p.message)
      expect(about('Bahs(npm test)')).toEqual([
        expect.stringContaining(
          "no tool named 'Bahs' is registered, so this rule never matches (did you mean 'Bash'?)",
        ),
      ])
      expect(about('Bash(npm:* test)')).toEqual([expect.stringContaining("':*' only works at the end")])
      expect(about('Bash(')).toEqual([expect.stringContaining('not closed')])
      expect(about('Read(!src/**)')).toEqual([expect.stringContaining('negated')])
      expect(about('WebFetch(https://example.com)')).toEqual([expect.stringContaining('domain:')])
      expect(about('WebFetch(domain:example.com:8080)')).toEqual([expect.stringContaining('not a host name')])
      expect(about('mcp__github(create)')).toEqual([expect.stringContaining('MCP rules take no specifier')])
      expect(about('TodoWrite(x)')).toEqual([expect.stringContaining('TodoWrite takes no specifier')])
      expect(about('Glob*')).toEqual([expect.stringContaining('wildcard')])
      expect(about('Edit(src/*/../x)')).toEqual([expect.stringContaining("'..' after a wildcard")])
      expect(problems).toContainEqual(
        expect.objectContaining({
          rule: 'Bash(git push:*)',
          behavior: 'allow',
          message: expect.stringContaining('never takes effect: the same rule is a deny rule'),
        }),
      )
      expect(about('Read(/etc/hosts)')).toEqual([
        expect.stringContaining("write 'Read(//etc/hosts)' for the absolute path"),
      ])
      // Each one is logged once, as a warning naming the rule and where it came from.
      const warnings = s.kernel.logs.filter((r) => r.level === 'warn').map((r) => r.message)
      for (const rule of ['Bahs(npm test)', 'Bash(npm:* test)', 'TodoWrite(x)', 'Read(/etc/hosts)']) {
        expect(warnings.filter((w) => w.includes(`permission rule ${rule} `))).toHaveLength(1)
      }
      // A malformed rule never matches: the call falls through to the mode.
      expect(s.permissions.explain('Bash(npm test)')).toMatchObject({ behavior: 'ask', mode: 'default' })
    } finally {
      await s.cleanup()
    }
  })

  it('unknown tool names are only reported against a tool registry; without one, only the syntax', async () => {
    const kernel = await createTestKernel({
      plugins: [permissions],
      config: { permissions: { allow: ['Frobnicate', 'Bash(a:* b)'] } },
    })
    try {
      const problems = kernel.createSession().resolve(permissionsRef).problems()
      expect(problems.map((p) => p.rule)).toEqual(['Bash(a:* b)'])
    } finally {
      await kernel.stop()
    }
  })

  it('a rule added in the session or on the command line is checked and logged too', async () => {
    const s = await setupPermissions()
    try {
      await s.permissions.addRule('Raed(x)', 'allow')
      s.permissions.setCliRules({ deny: ['Bassh'] })
      expect(s.permissions.problems().map((p) => [p.rule, p.source.scope])).toEqual([
        ['Bassh', 'cli'],
        ['Raed(x)', 'session'],
      ])
      expect(s.kernel.logs.some((r) => r.level === 'warn' && r.message.includes("did you mean 'Bash'"))).toBe(
        true,
      )
    } finally {
      await s.cleanup()
    }
  })
})

describe('tau permissions explain', () => {
  it('prints the decision, the rule and the file it came from', async () => {
    const s = await setupPermissions({
      files: { project: { permissions: { deny: ['Bash(rm:*)'], allow: ['Bash(npm test:*)'] } } },
    })
    try {
      const file = join(s.dir, '.tau', 'settings.json')
      const denied = await runCommand(s.kernel, 'permissions explain', ['Bash(rm -rf build)'])
      expect(denied.code).toBe(0)
      expect(denied.out).toBe(
        [
          'deny  Bash(rm -rf build)',
          `rule:   Bash(rm:*) (deny) from project settings (${file})`,
          `reason: the command 'rm -rf build' is denied by the deny rule Bash(rm:*) from project settings (${file})`,
          '',
        ].join('\n'),
      )
      const allowed = await runCommand(s.kernel, 'permissions explain', ['Bash(npm test -- --watch)'])
      expect(allowed.out).toContain(
        'allow  Bash(npm test -- --watch)\nrule:   Bash(npm test:*) (allow) from project settings',
      )
    } finally {
      await s.cleanup()
    }
  })

  it('prints the mode when no rule decided, and takes --mode', async () => {
    const s = await setupPermissions()
    try {
      const asked = await runCommand(s.kernel, 'permissions explain', ['Edit(src/a.ts)'])
      expect(asked.out).toMatch(
        /^ask {2}Edit\(src\/a\.ts\)\nmode: {3}default \(no rule matched\)\nreason: .*needs approval in default mode/,
      )
      const planned = await runCommand(s.kernel, 'permissions explain', ['Edit(src/a.ts)'], { mode: 'plan' })
      expect(planned.out).toMatch(/^deny {2}Edit\(src\/a\.ts\)\nmode: {3}plan/)
      const accepted = await runCommand(s.kernel, 'permissions explain', ['Edit(src/a.ts)'], {
        mode: 'acceptEdits',
        json: true,
      })
      expect(JSON.parse(accepted.out)).toMatchObject({
        call: 'Edit(src/a.ts)',
        behavior: 'allow',
        mode: 'acceptEdits',
      })
      await expect(
        runCommand(s.kernel, 'permissions explain', ['Read'], { mode: 'yolo' }),
      ).rejects.toMatchObject({
        code: 'TAU_CLI_USAGE',
        message: expect.stringContaining("--mode: 'yolo' is not a permission mode"),
      })
      await expect(runCommand(s.kernel, 'permissions explain', [])).rejects.toMatchObject({
        code: 'TAU_CLI_USAGE',
      })
    } finally {
      await s.cleanup()
    }
  })

  it('explains a path call against the real path rules', async () => {
    const s = await setupPermissions({ config: { deny: ['Read(./.env)'] } })
    try {
      const { out } = await runCommand(s.kernel, 'permissions explain', ['Read(./.env)'])
      expect(out.split('\n')[0]).toBe('deny  Read(./.env)')
      expect(out).toContain('rule:   Read(./.env) (deny) from the config')
    } finally {
      await s.cleanup()
    }
  })
})

describe('tau permissions list', () => {
  it('lists the mode, the workspace, every rule with its source, and the problems', async () => {
    const s = await setupPermissions({
      config: { allow: ['Bash(npm test:*)'], defaultMode: 'acceptEdits' },
      files: { local: { permissions: { deny: ['WebFetch', 'Raed'] } } },
    })
    try {
      const { code, out } = await runCommand(s.kernel, 'permissions list')
      const local = join(s.dir, '.tau', 'settings.local.json')
      expect(code).toBe(0)
      expect(out).toContain('mode: acceptEdits (defaultMode in the config)')
      expect(out).toContain(`workspace: ${s.dir}`)
      expect(out).toContain(
        `deny\n  WebFetch  local project settings (${local})\n  Raed      local project settings (${local})`,
      )
      expect(out).toContain('ask\n  (none)')
      expect(out).toContain('allow\n  Bash(npm test:*)  the config')
      expect(out).toContain(
        `problems\n  Raed (deny): no tool named 'Raed' is registered, so this rule never matches (did you mean 'Read'?) [local project settings (${local})]`,
      )
      const json = JSON.parse((await runCommand(s.kernel, 'permissions list', [], { json: true })).out)
      expect(json).toMatchObject({
        mode: 'acceptEdits',
        rules: expect.arrayContaining([
          { text: 'WebFetch', behavior: 'deny', source: { scope: 'local', file: local } },
        ]),
        problems: [expect.objectContaining({ rule: 'Raed' })],
      })
    } finally {
      await s.cleanup()
    }
  })
})
