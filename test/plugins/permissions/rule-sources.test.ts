/**
 * Where rules come from besides the settings files: session and command-line rules (setCliRules,
 * parseRuleList, addRule), and Network(domain:...) rules for what a sandboxed process may reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRuleList } from '../../../plugins/permissions/index.js'
import { bash, fetch, type Setup, setupPermissions } from './helpers.js'

describe('session and command-line rules', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({ config: { allow: ['WebFetch'] } })
  })
  afterAll(() => s.cleanup())

  it('setCliRules adds rules with the cli source, and replaces earlier ones', () => {
    s.permissions.setCliRules({
      allow: parseRuleList('Bash(git log:*) Read,Edit(docs/**)'),
      deny: ['WebFetch'],
    })
    expect(bash(s.permissions, 'git log --oneline')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Bash(git log:*)', source: { scope: 'cli' } },
    })
    expect(fetch(s.permissions, 'https://example.com/')).toMatchObject({
      behavior: 'deny',
      rule: { source: { scope: 'cli' } },
    })
    s.permissions.setCliRules({ allow: ['Bash(make)'] })
    expect(bash(s.permissions, 'git log').behavior).toBe('ask')
    expect(fetch(s.permissions, 'https://example.com/').behavior).toBe('allow')
    expect(s.permissions.rules()[0]).toEqual({
      text: 'Bash(make)',
      behavior: 'allow',
      source: { scope: 'cli' },
    })
  })

  it('setCliRules refuses a rule that is not rule syntax, naming the flag', () => {
    expect(() => s.permissions.setCliRules({ deny: ['Bash(rm'] })).toThrow(
      expect.objectContaining({
        code: 'TAU_CLI_USAGE',
        message: expect.stringContaining('--disallowed-tools'),
      }),
    )
  })

  it('parseRuleList splits on commas and spaces outside parentheses', () => {
    expect(parseRuleList(['Bash(npm run test:*) Read', 'Edit(a b/**),WebFetch(domain:x.dev)'])).toEqual([
      'Bash(npm run test:*)',
      'Read',
      'Edit(a b/**)',
      'WebFetch(domain:x.dev)',
    ])
  })

  it('addRule refuses what is not a rule', async () => {
    await expect(s.permissions.addRule('Bash(', 'allow')).rejects.toThrow(/not a permission rule/)
  })
})

describe('Network(domain:...) rules: what a sandboxed process may reach beyond the allowlist', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({
      config: {
        allow: ['Network(domain:registry.npmjs.org)', 'Network(domain:*.pypi.org)'],
        ask: ['Network(domain:files.pypi.org)'],
        deny: ['Network(domain:evil.example)'],
      },
    })
  })
  afterAll(() => s.cleanup())

  it('decides deny > ask > allow, then the mode asks; the rules are known (no problem reported)', () => {
    const p = s.permissions
    expect(p.decideNetwork?.('registry.npmjs.org')).toMatchObject({
      behavior: 'allow',
      rule: { text: 'Network(domain:registry.npmjs.org)' },
    })
    expect(p.decideNetwork?.('REGISTRY.npmjs.org.')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('upload.pypi.org')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('files.pypi.org')).toMatchObject({
      behavior: 'ask',
      rule: { text: 'Network(domain:files.pypi.org)' },
    })
    expect(p.decideNetwork?.('evil.example')).toMatchObject({ behavior: 'deny' })
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'ask', mode: 'default' })
    expect(p.explain('Network(domain:registry.npmjs.org)')).toMatchObject({ behavior: 'allow' })
    expect(p.problems()).toEqual([])
  })

  it('plan and dontAsk modes deny a host no rule allows; bypassPermissions allows it', () => {
    const p = s.permissions
    p.setMode('plan')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'deny', mode: 'plan' })
    p.setMode('dontAsk')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'deny' })
    expect(p.decideNetwork?.('registry.npmjs.org')).toMatchObject({ behavior: 'allow' })
    p.setMode('bypassPermissions')
    expect(p.decideNetwork?.('other.example')).toMatchObject({ behavior: 'allow' })
    expect(p.decideNetwork?.('evil.example')).toMatchObject({ behavior: 'deny' })
    p.setMode('default')
  })

  it('reports a Network rule without a domain', async () => {
    const bad = await setupPermissions({ config: { allow: ['Network(example.com)'] } })
    try {
      expect(bad.permissions.problems()).toEqual([
        expect.objectContaining({
          rule: 'Network(example.com)',
          message: expect.stringContaining('Network(domain:example.com)'),
        }),
      ])
    } finally {
      await bad.cleanup()
    }
  })
})
