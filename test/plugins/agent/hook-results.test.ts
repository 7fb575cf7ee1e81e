/**
 * What hook taps can do to a run besides deciding: rewrite a call's input and leave the decision
 * to the permissions, stop the run from preToolUse or postToolUse, and show the user a message
 * (session.notify) as a notification event of the run.
 */
import { describe, expect, it } from 'vitest'
import { type AgentEvent, agentHooksRef, agentRuntimeRef } from '../../../plugins/agent/index.js'
import { allowAll, collect, harness, ofType, resultOf, shell, toolText } from './helpers.js'

const calls = (...commands: string[]) => ({
  toolCalls: commands.map((command, i) => ({ id: `c${i + 1}`, name: 'Shell', input: { command } })),
})

describe('preToolUse results', () => {
  it('updatedInput without a decision: the permissions decide, with the new input', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: (_tool, input) =>
        (input as { command: string }).command.includes('--dry-run')
          ? { behavior: 'allow', reason: 'dry runs are fine' }
          : { behavior: 'deny', reason: 'only dry runs' },
      turns: [calls('deploy'), { text: 'ok' }],
    })
    h.kernel.hooksOf(agentHooksRef).preToolUse.tap((call) => ({
      updatedInput: { command: `${(call.input as { command: string }).command} --dry-run` },
    }))
    const events = await h.run(h.session(), 'ship it')
    expect(ran).toEqual(['deploy --dry-run'])
    expect(h.permissions[0]!.decided).toEqual([{ tool: 'Shell', input: { command: 'deploy --dry-run' } }])
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({
      behavior: 'allow',
      source: 'mode',
      reason: 'dry runs are fine',
    })
  })

  it('stop: the call is denied, the calls after it are not run, no model call follows; the run ends hook-stopped', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: allowAll,
      turns: [calls('ls', 'deploy', 'ls -la'), { text: 'never' }],
    })
    h.kernel
      .hooksOf(agentHooksRef)
      .preToolUse.tap((call) =>
        (call.input as { command: string }).command === 'deploy'
          ? { decision: 'allow', stop: { reason: 'deploys are frozen' } }
          : undefined,
      )
    const events = await h.run(h.session(), 'go')
    expect(ran).toEqual(['ls'])
    expect(toolText(events, 'c2')).toBe(
      'Permission to use Shell was denied: a preToolUse hook stopped the run: deploys are frozen',
    )
    expect(toolText(events, 'c3')).toBe('Not run: a hook stopped the run (deploys are frozen).')
    expect(h.scripted.requests).toHaveLength(1)
    expect(resultOf(events)).toMatchObject({
      stopReason: 'hook-stopped',
      isError: true,
      error: { code: 'TAU_AGENT_HOOK_STOPPED', message: 'a hook stopped the run: deploys are frozen' },
    })
    // Every call was answered: the conversation stays valid for the next run.
    const session = h.kernel.resolve(agentRuntimeRef).sessions()[0]!
    expect(session.conversation.pendingToolCalls()).toEqual([])
  })
})

describe('postToolUse results', () => {
  it('stop: the result joins the conversation, then the run ends hook-stopped', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: allowAll,
      turns: [calls('make'), { text: 'never' }],
    })
    h.kernel
      .hooksOf(agentHooksRef)
      .postToolUse.tap((value) => ({ ...value, stop: { reason: 'the build broke' } }))
    const session = h.session()
    const events = await h.run(session, 'build')
    expect(ran).toEqual(['make'])
    expect(toolText(events, 'c1')).toBe('ran make')
    expect(h.scripted.requests).toHaveLength(1)
    expect(resultOf(events)).toMatchObject({
      stopReason: 'hook-stopped',
      error: { code: 'TAU_AGENT_HOOK_STOPPED', message: 'a hook stopped the run: the build broke' },
    })
    const last = session.conversation.messages.at(-1)!
    expect(last.role).toBe('tool')
  })
})

describe('session.notify', () => {
  it("puts a notification event into the running run's stream and fires the notification hook", async () => {
    const ran: string[] = []
    const h = await harness({ tools: [shell(ran)], decide: allowAll, turns: [calls('ls'), { text: 'ok' }] })
    const runtime = h.kernel.resolve(agentRuntimeRef)
    const hooks = h.kernel.hooksOf(agentHooksRef)
    const heard: string[] = []
    hooks.notification.tapPromise(async (c) => void heard.push(`${c.level}: ${c.message}`))
    hooks.preToolUse.tapPromise(async (call) => {
      await runtime
        .sessions()
        .find((s) => s.id === call.sessionId)!
        .notify('warn', 'the guard is in audit mode')
      return undefined
    })
    const events = await h.run(h.session(), 'go')
    const notice = events.findIndex((e) => e.type === 'notification')
    expect(events[notice]).toMatchObject({ level: 'warn', message: 'the guard is in audit mode' })
    // In order: after the call started, before it was decided.
    const start = events.findIndex((e) => e.type === 'tool-start')
    const decision = events.findIndex((e) => e.type === 'permission-decision')
    expect(start).toBeLessThan(notice)
    expect(notice).toBeLessThan(decision)
    expect(heard).toEqual(['warn: the guard is in audit mode'])
  })

  it('without a run going on, only the notification hook fires', async () => {
    const h = await harness({ turns: [{ text: 'ok' }] })
    const heard: string[] = []
    h.kernel.hooksOf(agentHooksRef).notification.tapPromise(async (c) => void heard.push(c.message))
    const session = h.session()
    const events: AgentEvent[] = await collect(session.run('hi'))
    await session.notify('info', 'after the run')
    expect(heard).toEqual(['after the run'])
    expect(ofType(events, 'notification')).toEqual([])
  })
})
