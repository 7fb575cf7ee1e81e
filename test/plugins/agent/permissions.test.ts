/**
 * Who decides a tool call: the preToolUse hooks first (a tap that throws denies), then the
 * permissions service (none: fail closed, ask), then the user; with nobody to ask, a denial the
 * model can read.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { agentHooksRef, type PermissionRequest } from '../../../plugins/agent/index.js'
import { defineTool } from '../../../plugins/tools/registry.js'
import { allowAll, type Decide, harness, ofType, resultOf, shell, toolText } from './helpers.js'

const ask: Decide = (tool) => ({ behavior: 'ask', reason: `${tool.name} needs approval in default mode` })

const oneCall = (command = 'ls -la', id = 'c1') => ({
  toolCalls: [{ id, name: 'Shell', input: { command } }],
})

describe('agent permissions', () => {
  it('a preToolUse deny blocks the call with its reason; the permissions service is not asked', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: allowAll,
      turns: [oneCall('rm -rf /'), { text: 'ok' }],
    })
    h.kernel
      .hooksOf(agentHooksRef)
      .preToolUse.tap((call) =>
        (call.input as { command: string }).command.startsWith('rm')
          ? { decision: 'deny', reason: 'rm is not allowed here' }
          : undefined,
      )
    const events = await h.run(h.session(), 'clean up')
    expect(ran).toEqual([])
    expect(toolText(events, 'c1')).toBe('Permission to use Shell was denied: rm is not allowed here')
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'deny', source: 'hook' })
    expect(h.permissions[0]!.decided).toEqual([])
    expect(resultOf(events).stopReason).toBe('end-turn')
  })

  it('a preToolUse tap that throws denies (a broken guard never allows)', async () => {
    const ran: string[] = []
    const h = await harness({ tools: [shell(ran)], decide: allowAll, turns: [oneCall(), { text: 'ok' }] })
    h.kernel.hooksOf(agentHooksRef).preToolUse.tap(() => {
      throw new Error('policy file unreadable')
    })
    const events = await h.run(h.session(), 'list')
    expect(ran).toEqual([])
    expect(toolText(events, 'c1')).toMatch(/denied: a preToolUse hook failed: .*policy file unreadable/)
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'deny', source: 'hook' })
  })

  it('a preToolUse allow skips the permission check; updatedInput replaces the input (and is validated)', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: () => ({ behavior: 'deny', reason: 'the service would deny' }),
      turns: [
        { toolCalls: [{ id: 'a', name: 'Shell', input: { command: 'ls' } }] },
        { toolCalls: [{ id: 'b', name: 'Shell', input: { command: 'bad' } }] },
        { text: 'ok' },
      ],
    })
    h.kernel
      .hooksOf(agentHooksRef)
      .preToolUse.tap((call) =>
        (call.input as { command: string }).command === 'ls'
          ? { decision: 'allow', updatedInput: { command: 'ls --color=never' } }
          : { decision: 'allow', updatedInput: { command: 42 } },
      )
    const events = await h.run(h.session(), 'list')
    expect(ran).toEqual(['ls --color=never'])
    expect(toolText(events, 'a')).toBe('ran ls --color=never')
    expect(toolText(events, 'b')).toMatch(
      /denied: a preToolUse hook rewrote the input into something invalid/,
    )
    expect(h.permissions[0]!.decided).toEqual([])
  })

  it('headless: an "ask" with nobody to ask is a denial whose reason the model can read', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: ask,
      turns: [oneCall('npm test'), { text: 'could not' }],
    })
    const events = await h.run(h.session(), 'test it')
    expect(ran).toEqual([])
    const types = events.map((e) => e.type)
    expect(types.indexOf('permission-request')).toBeLessThan(types.indexOf('permission-decision'))
    expect(ofType(events, 'permission-request')[0]).toMatchObject({
      id: 'c1',
      name: 'Shell',
      input: { command: 'npm test' },
      reason: 'Shell needs approval in default mode',
    })
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'deny', source: 'headless' })
    const text = toolText(events, 'c1')
    expect(text).toContain('Shell needs approval in default mode')
    expect(text).toContain('non-interactive')
    expect(text).toContain("--allowed-tools 'Shell(npm test)'")
    expect(resultOf(events)).toMatchObject({ stopReason: 'end-turn', isError: false })
  })

  it('asks the user: allow runs it; allow-always keeps the rule in .tau/settings.local.json (persist local)', async () => {
    const ran: string[] = []
    const requests: PermissionRequest[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: ask,
      turns: [oneCall('ls', 'c1'), oneCall('make', 'c2'), oneCall('make', 'c3'), { text: 'done' }],
    })
    const answers = ['allow', 'allow-always'] as const
    const session = h.session({
      askPermission: async (request) => {
        requests.push(request)
        return answers[requests.length - 1] ?? 'deny'
      },
    })
    const events = await h.run(session, 'build')
    expect(ran).toEqual(['ls', 'make', 'make'])
    expect(requests.map((r) => [r.toolName, r.input, r.suggestedRule, r.reason])).toEqual([
      ['Shell', { command: 'ls' }, 'Shell(ls)', 'Shell needs approval in default mode'],
      ['Shell', { command: 'make' }, 'Shell(make)', 'Shell needs approval in default mode'],
    ])
    expect(h.permissions[0]!.added).toEqual([{ text: 'Shell(make)', behavior: 'allow', persist: 'local' }])
    expect(ofType(events, 'permission-decision').map((e) => [e.behavior, e.source])).toEqual([
      ['allow', 'user'],
      ['allow', 'user'],
      ['allow', 'rule'],
    ])
  })

  it('a user denial reaches the model with the reason; a malformed answer denies', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: ask,
      turns: [oneCall('ls', 'c1'), oneCall('ls', 'c2'), { text: 'ok' }],
    })
    let n = 0
    const session = h.session({
      askPermission: async () =>
        ++n === 1 ? { behavior: 'deny', reason: 'not on my machine' } : ({ behavior: 'maybe' } as never),
    })
    const events = await h.run(session, 'go')
    expect(ran).toEqual([])
    expect(toolText(events, 'c1')).toBe('Permission to use Shell was denied: not on my machine')
    expect(toolText(events, 'c2')).toMatch(/denied: the answer was not understood/)
  })

  it('asks one question at a time, even for calls running in parallel', async () => {
    const look = defineTool({
      name: 'Look',
      description: 'look',
      input: z.object({ at: z.string() }),
      annotations: { readOnly: true },
      async execute({ at }) {
        return at
      },
    })
    const h = await harness({
      tools: [look],
      decide: ask,
      turns: [
        {
          toolCalls: [
            { id: 'x', name: 'Look', input: { at: 'x' } },
            { id: 'y', name: 'Look', input: { at: 'y' } },
            { id: 'z', name: 'Look', input: { at: 'z' } },
          ],
        },
        { text: 'ok' },
      ],
    })
    let open = 0
    let peak = 0
    const session = h.session({
      askPermission: async () => {
        peak = Math.max(peak, ++open)
        await new Promise((resolve) => setTimeout(resolve, 15))
        open--
        return 'allow'
      },
    })
    const events = await h.run(session, 'look')
    expect(peak).toBe(1)
    expect(ofType(events, 'tool-end').map((e) => e.result.isError ?? false)).toEqual([false, false, false])
  })

  it('without a permissions service it fails closed: every call is asked (and denied headless)', async () => {
    const ran: string[] = []
    const look = defineTool({
      name: 'Look',
      description: 'look',
      input: z.object({}),
      annotations: { readOnly: true },
      async execute() {
        ran.push('look')
        return 'seen'
      },
    })
    const h = await harness({
      tools: [look],
      turns: [{ toolCalls: [{ id: 'l1', name: 'Look', input: {} }] }, { text: 'ok' }],
    })
    const events = await h.run(h.session(), 'look')
    expect(ran).toEqual([])
    expect(toolText(events, 'l1')).toMatch(/no permissions service is loaded.*non-interactive/)
    // A bare tool name in allowedTools still allows it.
    h.scripted.push({ toolCalls: [{ id: 'l2', name: 'Look', input: {} }] }, { text: 'ok' })
    const allowed = await h.run(h.session({ allowedTools: ['Look'] }), 'look')
    expect(toolText(allowed, 'l2')).toBe('seen')
  })

  it('applies the session options to the permissions service; bare disallowed tools are hidden from the model', async () => {
    const ran: string[] = []
    const write = defineTool({
      name: 'Write',
      description: 'write',
      input: z.object({}),
      async execute() {
        ran.push('write')
        return 'written'
      },
    })
    const h = await harness({
      tools: [shell(ran), write],
      decide: allowAll,
      turns: [{ toolCalls: [{ id: 'w', name: 'Write', input: {} }] }, { text: 'ok' }],
    })
    const session = h.session({
      permissionMode: 'acceptEdits',
      allowedTools: ['Shell(npm test:*)', 'Read'],
      disallowedTools: ['Write', 'Shell(rm:*)'],
    })
    const events = await h.run(session, 'go')
    const permissions = h.permissions[0]!
    expect(permissions.mode).toBe('acceptEdits')
    expect(permissions.cli).toEqual({ allow: ['Shell(npm test:*)', 'Read'], deny: ['Write', 'Shell(rm:*)'] })
    expect(permissions.added).toEqual([])
    expect(h.scripted.requests[0]!.tools?.map((t) => t.name)).toEqual(['Shell'])
    expect(ofType(events, 'session-start')[0]).toMatchObject({
      tools: ['Shell'],
      permissionMode: 'acceptEdits',
    })
    expect(toolText(events, 'w')).toMatch(/no tool named 'Write'.*Shell/)
    expect(ran).toEqual([])
  })

  it("reports the service's deny with source rule, and a decide() that throws as a denial", async () => {
    const ran: string[] = []
    let calls = 0
    const h = await harness({
      tools: [shell(ran)],
      decide: () => {
        if (++calls === 1) {
          return {
            behavior: 'deny',
            reason: 'denied by Shell(rm:*)',
            rule: { text: 'Shell(rm:*)', behavior: 'deny', source: { scope: 'project' } },
          }
        }
        throw new Error('rules corrupted')
      },
      turns: [oneCall('rm x', 'c1'), oneCall('ls', 'c2'), { text: 'ok' }],
    })
    const events = await h.run(h.session(), 'go')
    expect(ofType(events, 'permission-decision').map((e) => [e.behavior, e.source])).toEqual([
      ['deny', 'rule'],
      ['deny', 'rule'],
    ])
    expect(toolText(events, 'c2')).toMatch(/the permission check failed: rules corrupted/)
    expect(ran).toEqual([])
  })

  it('postToolUse rewrites what the model sees; when it throws, the output is withheld', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: allowAll,
      turns: [oneCall('cat .env', 'c1'), oneCall('boom', 'c2'), { text: 'ok' }],
    })
    h.kernel.hooksOf(agentHooksRef).postToolUse.tap((result) => {
      if ((result.input as { command: string }).command === 'boom') throw new Error('redactor crashed')
      return { ...result, output: { content: [{ type: 'text', text: '[redacted]' }] } }
    })
    const events = await h.run(h.session(), 'go')
    expect(toolText(events, 'c1')).toBe('[redacted]')
    expect(toolText(events, 'c2')).toMatch(/withheld because a postToolUse hook failed/)
    expect(ran).toEqual(['cat .env', 'boom'])
  })
})
