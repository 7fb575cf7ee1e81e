/**
 * Malformed input and unknown tools fail closed: input that does not match the schema, a throwing
 * permission target, something that is not a tool, an edit without a path, a tool without
 * annotations, explain() of an unregistered tool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineTool } from '../../../plugins/tools/registry.js'
import type { Tool } from '../../../plugins/tools/tool.js'
import { Bash, Read, type Setup, setupPermissions } from './helpers.js'

describe('malformed input and unknown tools fail closed', () => {
  let s: Setup
  beforeAll(async () => {
    s = await setupPermissions({ config: { allow: ['Bash', 'Read', 'Edit'], deny: ['Edit(./locked/**)'] } })
  })
  afterAll(() => s.cleanup())

  it('input that does not match the tool schema is denied, even under a bare allow', () => {
    expect(s.permissions.decide(Bash, { command: 42 })).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('does not match its schema'),
    })
    expect(s.permissions.decide(Read, {}).behavior).toBe('deny')
    expect(s.permissions.decide(Read, null).behavior).toBe('deny')
  })

  it('a tool whose permission target throws is denied', () => {
    const broken = defineTool({
      name: 'Broken',
      description: 'x',
      input: z.object({}),
      annotations: { readOnly: true },
      permissionTarget: () => {
        throw new Error('boom')
      },
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(broken, {})).toMatchObject({
      behavior: 'deny',
      reason: expect.stringContaining('boom'),
    })
  })

  it('something that is not a tool is denied', () => {
    expect(s.permissions.decide(undefined as unknown as Tool, {}).behavior).toBe('deny')
  })

  it('an edit tool that gives no path cannot be checked against a path deny rule: asked, not allowed', () => {
    const pathless = defineTool({
      name: 'Patch',
      description: 'x',
      input: z.object({ file_path: z.string().optional() }),
      access: 'edit',
      permissionTarget: (i) => i.file_path,
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(pathless, {})).toMatchObject({
      behavior: 'ask',
      rule: { text: 'Edit(./locked/**)' },
    })
    expect(s.permissions.decide(pathless, { file_path: 'src/a.ts' }).behavior).toBe('allow')
  })

  it('a tool without annotations is not assumed read-only', () => {
    const mystery = defineTool({
      name: 'Mystery',
      description: 'x',
      input: z.object({}),
      execute: async () => '',
    }) as Tool
    expect(s.permissions.decide(mystery, {})).toMatchObject({ behavior: 'ask', mode: 'default' })
  })

  it('explain of a tool nobody registered says so and does not allow', () => {
    expect(s.permissions.explain('Frobnicate(x)')).toMatchObject({
      behavior: 'ask',
      reason: expect.stringContaining("no tool named 'Frobnicate'"),
    })
    expect(s.permissions.explain('Bash(').behavior).toBe('deny')
  })
})
