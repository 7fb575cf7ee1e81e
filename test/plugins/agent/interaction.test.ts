/**
 * The per-session UserInteraction: each session's questions go to the frontend that opened it
 * (two sessions in one process never get each other's), the older askPermission option still
 * works as an adapter, and what a frontend leaves out gets the fail-closed answer.
 */
import { describe, expect, it } from 'vitest'
import type { PermissionAnswer, PermissionRequest, UserInteraction } from '../../../plugins/agent/index.js'
import { NOBODY_TO_ASK } from '../../../plugins/agent/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'
import { type Decide, harness, ofType, shell, toolText } from './helpers.js'

const ask: Decide = (tool) => ({ behavior: 'ask', reason: `${tool.name} needs approval` })

/** An interaction that records its permission requests and answers when the test says. */
function frontend() {
  const asked: PermissionRequest[] = []
  const answers: Array<(answer: PermissionAnswer) => void> = []
  const interaction: UserInteraction = {
    askPermission: (request) =>
      new Promise((resolve) => {
        asked.push(request)
        answers.push(resolve)
      }),
  }
  return { asked, answers, interaction }
}

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('UserInteraction per session', () => {
  it('two sessions in one process each get their own permission questions', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: ask,
      turns: [
        { toolCalls: [{ id: 'a1', name: 'Shell', input: { command: 'echo a' } }] },
        { toolCalls: [{ id: 'b1', name: 'Shell', input: { command: 'echo b' } }] },
        { text: 'done' },
        { text: 'done' },
      ],
    })
    const a = frontend()
    const b = frontend()
    const sessionA = h.session({ interaction: a.interaction })
    const sessionB = h.session({ interaction: b.interaction })
    const runA = h.run(sessionA, 'a')
    await until(() => a.asked.length === 1)
    const runB = h.run(sessionB, 'b')
    await until(() => b.asked.length === 1)
    a.answers[0]!('allow')
    b.answers[0]!({ behavior: 'deny', reason: 'not this one' })
    const [eventsA, eventsB] = await Promise.all([runA, runB])
    expect(a.asked.map((r) => [r.sessionId, r.toolCallId])).toEqual([[sessionA.id, 'a1']])
    expect(b.asked.map((r) => [r.sessionId, r.toolCallId])).toEqual([[sessionB.id, 'b1']])
    expect(ran).toEqual(['echo a'])
    expect(toolText(eventsA, 'a1')).toBe('ran echo a')
    expect(toolText(eventsB, 'b1')).toMatch(/denied: not this one/)
  })

  it('the askPermission option still works, and wins over the interaction’s', async () => {
    const ran: string[] = []
    const h = await harness({
      tools: [shell(ran)],
      decide: ask,
      turns: [{ toolCalls: [{ id: 'c1', name: 'Shell', input: { command: 'ls' } }] }, { text: 'ok' }],
    })
    const viaInteraction: string[] = []
    const session = h.session({
      interaction: {
        askPermission: async (request) => {
          viaInteraction.push(request.toolCallId)
          return 'deny'
        },
      },
      askPermission: async () => 'allow',
    })
    const events = await h.run(session, 'list')
    expect(ran).toEqual(['ls'])
    expect(viaInteraction).toEqual([])
    expect(ofType(events, 'permission-decision')[0]).toMatchObject({ behavior: 'allow', source: 'user' })
  })

  it('what a frontend leaves out gets the fail-closed answer, saying why', async () => {
    const h = await harness({ decide: ask })
    const session = h.session({ interaction: {} })
    const signal = new AbortController().signal
    expect(session.interaction.interactive).toBe(false)
    expect(
      await session.interaction.elicit(
        { server: 's', mode: 'form', message: 'm', requestedSchema: {} },
        signal,
      ),
    ).toEqual({ action: 'decline' })
    expect(
      await session.interaction.confirmSampling(
        { server: 's', model: 'scripted:test', messages: [], maxTokens: 10 },
        signal,
      ),
    ).toEqual({ action: 'deny', reason: NOBODY_TO_ASK })
    expect(
      await session.interaction.approvePlan({
        sessionId: session.id,
        toolCallId: 'p',
        plan: '# p',
        file: '/p.md',
        signal,
      }),
    ).toEqual({ decision: 'reject', reason: NOBODY_TO_ASK })
    await expect(
      session.interaction.authorize({ server: 's', url: 'http://127.0.0.1/' }, signal),
    ).rejects.toThrow(/needs a login and there is no user to ask/)
  })

  it('asks one question at a time, and an aborted question gets the fail-closed answer', async () => {
    const h = await harness({ decide: ask })
    let open = 0
    let most = 0
    let calls = 0
    const session = h.session({
      interaction: {
        elicit: (_request, signal) =>
          new Promise((resolve) => {
            calls++
            open++
            most = Math.max(most, open)
            signal.addEventListener('abort', () => open--, { once: true })
            setImmediate(() => {
              if (signal.aborted) return
              open--
              resolve({ action: 'accept', content: { a: 1 } })
            })
          }),
      },
    })
    const form = { server: 's', mode: 'form', message: 'm', requestedSchema: {} } as const
    const aborted = new AbortController()
    aborted.abort()
    const answers = await Promise.all([
      session.interaction.elicit(form, new AbortController().signal),
      session.interaction.elicit(form, new AbortController().signal),
      session.interaction.elicit(form, aborted.signal),
    ])
    expect(most).toBe(1)
    // The aborted one was never put to the user.
    expect(calls).toBe(2)
    expect(answers.map((a) => a.action)).toEqual(['accept', 'accept', 'cancel'])
  })
})
