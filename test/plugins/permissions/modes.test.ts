/**
 * The permission modes (default, acceptEdits, plan, bypassPermissions): what each lets run, asks
 * or denies, untrusted annotations, setMode's refusal of what is not a mode, and each session's
 * own mode and session rules.
 */
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { permissionsRef } from '../../../plugins/permissions/index.js'
import type { Tool } from '../../../plugins/tools/tool.js'
import {
  bash,
  edit,
  fetch,
  McpListIssues,
  read,
  type Setup,
  setupPermissions,
  TodoWrite,
  Write,
} from './helpers.js'

describe('modes', () => {
  let s: Setup
  let outside: string
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'tau-perm-outside-'))
    s = await setupPermissions({
      config: {
        allow: ['Bash(npm test:*)'],
        ask: ['Bash(git push:*)'],
        deny: ['Bash(rm:*)', 'Read(./secret.txt)'],
      },
      before: async (dir) => {
        await mkdir(join(dir, 'src'))
        await symlink(outside, join(dir, 'src', 'escape'))
      },
    })
  })
  afterEach(() => s.permissions.setMode('default'))
  afterAll(async () => {
    await s.cleanup()
    await rm(outside, { recursive: true, force: true })
  })

  it('default: read-only tools inside the workspace run; everything else asks', () => {
    const p = s.permissions
    expect(p.mode).toBe('default')
    expect(read(p, 'src/a.ts')).toMatchObject({ behavior: 'allow', mode: 'default' })
    expect(read(p, join(outside, 'x.txt'))).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('outside the workspace'),
    })
    expect(edit(p, 'src/a.ts')).toMatchObject({ behavior: 'ask', mode: 'default' })
    expect(bash(p, 'make')).toMatchObject({ behavior: 'ask', mode: 'default' })
    // Read-only but reaching the network: asked, with the rule that would allow it.
    expect(fetch(p, 'https://example.com/')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('WebFetch(domain:example.com)'),
    })
    // No annotations: not known to be read-only.
    expect(p.decide(TodoWrite, { todos: [] }).behavior).toBe('ask')
  })

  it('acceptEdits: edits inside the workspace run; edits outside it, symlink escapes and Bash ask', () => {
    const p = s.permissions
    p.setMode('acceptEdits')
    expect(edit(p, 'src/a.ts')).toMatchObject({ behavior: 'allow', mode: 'acceptEdits' })
    expect(p.decide(Write, { file_path: join(s.dir, 'new', 'file.ts'), content: '' }).behavior).toBe('allow')
    expect(edit(p, join(outside, 'a.ts')).behavior).toBe('ask')
    expect(edit(p, 'src/escape/a.ts')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining('workspace'),
    })
    expect(edit(p, 'src/../../elsewhere.ts').behavior).toBe('ask')
    expect(bash(p, 'make').behavior).toBe('ask')
    expect(bash(p, 'npm test').behavior).toBe('allow')
  })

  it('plan: only read-only tools run; the others are denied with a reason about plan mode, allow rules included', () => {
    const p = s.permissions
    p.setMode('plan')
    expect(read(p, 'src/a.ts').behavior).toBe('allow')
    expect(edit(p, 'src/a.ts')).toMatchObject({
      behavior: 'deny',
      mode: 'plan',
      reason: expect.stringContaining('plan mode'),
    })
    expect(bash(p, 'npm test')).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('plan mode'),
    })
    // Deny rules still name themselves.
    expect(read(p, 'secret.txt')).toMatchObject({ behavior: 'deny', rule: { text: 'Read(./secret.txt)' } })
  })

  it('bypassPermissions: everything runs, but deny rules still deny and ask rules still ask', () => {
    const p = s.permissions
    p.setMode('bypassPermissions')
    expect(bash(p, 'make install')).toMatchObject({ behavior: 'allow', mode: 'bypassPermissions' })
    expect(edit(p, join(outside, 'a.ts')).behavior).toBe('allow')
    expect(bash(p, 'echo $(date)').behavior).toBe('allow')
    expect(bash(p, 'make && rm -rf /').behavior).toBe('deny')
    expect(bash(p, 'git push').behavior).toBe('ask')
  })

  it("a tool whose annotations are not trusted (an MCP server's hints) is never allowed for them", () => {
    const untrusted = { ...McpListIssues, annotationsTrusted: false } as Tool
    expect(s.permissions.decide(McpListIssues, {})).toMatchObject({ behavior: 'allow' })
    expect(s.permissions.decide(untrusted, {})).toMatchObject({ behavior: 'ask' })
    s.permissions.setMode('plan')
    expect(s.permissions.decide(untrusted, {})).toMatchObject({ behavior: 'deny' })
  })

  it('setMode refuses what is not a mode', () => {
    expect(() => s.permissions.setMode('yolo' as never)).toThrow(/not a permission mode/)
    expect(s.permissions.mode).toBe('default')
  })

  it('each session has its own mode and session rules', async () => {
    const other = s.kernel.createSession().resolve(permissionsRef)
    s.permissions.setMode('plan')
    await s.permissions.addRule('Bash(make)', 'allow')
    expect(other.mode).toBe('default')
    expect(bash(other, 'make').behavior).toBe('ask')
    s.permissions.setMode('default')
    expect(bash(s.permissions, 'make')).toMatchObject({
      behavior: 'allow',
      rule: { source: { scope: 'session' } },
    })
  })
})
