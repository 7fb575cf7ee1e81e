/**
 * The permissions of a subagent's child session, through the real agent loop and the real
 * permissions plugin: what it asks goes to the parent's frontend (one question at a time), a
 * headless parent denies, "allow always" is kept for the parent, and the parent's mode,
 * command-line rules and bare deny rules bind the child.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AgentEvent, PermissionRequest } from '../../../plugins/agent/index.js'
import type { ScriptTurn } from '../../../plugins/provider-scripted/index.js'
import { collect, ofType } from '../agent/helpers.js'
import { childCalls, childEvents, executed, setup, task, toolNames } from './helpers.js'

describe('permissions of the child', () => {
  it("asks the parent's frontend, and the request says which subagent asks", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const asked: PermissionRequest[] = []
    const events = await collect(
      h
        .session({
          askPermission: async (request) => {
            asked.push(request)
            return 'allow'
          },
        })
        .run('go'),
    )
    expect(executed).toEqual(['Write:x'])
    const child = childEvents(events, 't')
    const childId = child[0]!.sessionId
    expect(asked).toHaveLength(1)
    expect(asked[0]).toMatchObject({
      sessionId: childId,
      toolCallId: 'w',
      toolName: 'Write',
      input: { text: 'x' },
      suggestedRule: 'Write',
      parentToolCallId: 't',
      agentType: 'general-purpose',
    })
    expect(ofType(child, 'permission-request')[0]).toMatchObject({ id: 'w', name: 'Write' })
    expect(ofType(child, 'permission-decision')[0]).toMatchObject({
      name: 'Write',
      behavior: 'allow',
      source: 'user',
    })
    // general-purpose gets every tool but Task.
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Secret', 'Write'])
  })

  it('a headless parent (no askPermission): what needs asking is denied in the child', async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const events = await collect(h.session().run('go'))
    expect(executed).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      name: 'Write',
      behavior: 'deny',
      source: 'headless',
    })
  })

  it("a denial from the parent's frontend denies the child's call, with the user's reason", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const events = await collect(
      h.session({ askPermission: async () => ({ behavior: 'deny', reason: 'not now' }) }).run('go'),
    )
    expect(executed).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'user',
      reason: 'not now',
    })
  })

  it('"allow always" in a subagent is kept for the parent session too (and in settings.local.json)', async () => {
    const h = await setup({
      turns: [
        task('t', 'general-purpose'),
        { toolCalls: [{ id: 'w1', name: 'Write', input: { text: 'x' } }] },
        { text: 'wrote it' },
        { toolCalls: [{ id: 'w2', name: 'Write', input: { text: 'y' } }] },
        { text: 'ok' },
      ],
    })
    const asked: string[] = []
    const parent = h.session({
      askPermission: async (request) => {
        asked.push(request.toolCallId)
        return 'allow-always'
      },
    })
    const events = await collect(parent.run('go'))
    expect(executed).toEqual(['Write:x', 'Write:y'])
    expect(asked).toEqual(['w1'])
    const own = ofType(events, 'permission-decision').find((e) => e.id === 'w2')!
    expect(own).toMatchObject({ behavior: 'allow', source: 'rule' })
    expect(parent.permissions?.rules().some((r) => r.text === 'Write' && r.source.scope === 'session')).toBe(
      true,
    )
    const local = JSON.parse(await readFile(join(h.cwd, '.tau', 'settings.local.json'), 'utf8'))
    expect(local.permissions.allow).toContain('Write')
  })

  it('parallel subagents ask one question at a time', async () => {
    const write = (id: string): ScriptTurn => ({ toolCalls: [{ id, name: 'Write', input: { text: id } }] })
    const h = await setup({
      turns: [
        {
          toolCalls: ['p1', 'p2'].map((id) => ({
            id,
            name: 'Task',
            input: { description: 'x', prompt: 'p', subagent_type: 'general-purpose' },
          })),
        },
        write('w1'),
        write('w2'),
        { text: 'done' },
        { text: 'done' },
        { text: 'ok' },
      ],
    })
    let open = 0
    let most = 0
    const asked: string[] = []
    const events: AgentEvent[] = []
    const otherAsks = (id: string | undefined) =>
      events.some((e) => e.type === 'permission-request' && e.parentToolCallId !== id)
    const session = h.session({
      askPermission: async (request) => {
        open++
        most = Math.max(most, open)
        asked.push(request.parentToolCallId ?? '')
        // Hold the first question open until the other child asks too (bounded, no timers).
        for (let i = 0; i < 10_000 && !otherAsks(request.parentToolCallId); i++)
          await new Promise((resolve) => setImmediate(resolve))
        open--
        return 'allow'
      },
    })
    for await (const event of session.run('go')) events.push(event)
    expect(asked.sort()).toEqual(['p1', 'p2'])
    // Both children were waiting for an answer at once, and were asked one after the other.
    const requests = ofType(events, 'permission-request').map((e) => events.indexOf(e))
    const decisions = ofType(events, 'permission-decision')
      .filter((e) => e.name === 'Write')
      .map((e) => events.indexOf(e))
    expect(Math.max(...requests)).toBeLessThan(Math.min(...decisions))
    expect(most).toBe(1)
    expect(executed.sort()).toEqual(['Write:w1', 'Write:w2'])
  })

  it("passes on the parent's mode: in plan mode the child cannot write", async () => {
    const h = await setup({
      turns: childCalls('Write', { text: 'x' }),
    })
    const asked: string[] = []
    const ask = async (request: PermissionRequest) => {
      asked.push(request.toolName)
      return 'allow' as const
    }
    const events = await collect(h.session({ permissionMode: 'plan', askPermission: ask }).run('go'))
    expect(executed).toEqual([])
    expect(asked).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'mode',
    })
  })

  it("passes on the parent's command-line rules: a tool the parent may not use stays denied", async () => {
    const h = await setup({
      turns: childCalls('Echo', { text: 'no' }, 'e'),
    })
    const asked: string[] = []
    const ask = async (request: PermissionRequest) => {
      asked.push(request.toolName)
      return 'allow' as const
    }
    const events = await collect(h.session({ disallowedTools: ['Echo(no)'], askPermission: ask }).run('go'))
    expect(executed).toEqual([])
    expect(asked).toEqual([])
    expect(ofType(childEvents(events, 't'), 'permission-decision')[0]).toMatchObject({
      behavior: 'deny',
      source: 'rule',
    })
  })

  it("hides from the child the tools the parent's bare deny rules take away", async () => {
    const h = await setup({
      turns: childCalls('Secret', {}, 's'),
    })
    const events = await collect(h.session({ disallowedTools: ['Secret'] }).run('go'))
    expect(executed).toEqual([])
    expect(toolNames(h.scripted.requests[1]!)).toEqual(['Echo', 'Write'])
    const end = ofType(childEvents(events, 't'), 'tool-end').find((e) => e.id === 's')!
    expect(end.result.isError).toBe(true)
  })
})
