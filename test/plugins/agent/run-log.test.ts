/**
 * The run as an observable unit: the `event` hook sees every event (seq increasing, one runId,
 * an id and a timestamp each) from a plugin; runStart and runEnd bracket every run, on success
 * and on a failed model call (with modelCallFailed between them).
 */
import { describe, expect, it } from 'vitest'
import { definePlugin } from '../../../kernel/index.js'
import { type AgentEvent, agentHooksRef } from '../../../plugins/agent/index.js'
import { harness, resultOf } from './helpers.js'

function observer(seen: { events: AgentEvent[]; calls: string[] }) {
  return definePlugin({
    name: 'observer',
    dependsOn: ['agent'],
    setup(ctx) {
      const hooks = ctx.hooksOf(agentHooksRef)
      hooks.event.tap((event) => {
        seen.events.push(event)
      })
      hooks.runStart.tapPromise(async ({ runId, prompt }) => {
        seen.calls.push(`runStart ${runId} ${prompt}`)
      })
      hooks.modelCallFailed.tapPromise(async ({ runId, error, aborted }) => {
        seen.calls.push(`modelCallFailed ${runId} ${error.message.slice(0, 20)} ${aborted}`)
      })
      hooks.runEnd.tapPromise(async ({ runId, stopReason }) => {
        seen.calls.push(`runEnd ${runId} ${stopReason}`)
      })
    },
  })
}

describe('the run, observed from a plugin', () => {
  it('the event hook sees every event of the stream, stamped; runStart and runEnd bracket the run', async () => {
    const seen = { events: [] as AgentEvent[], calls: [] as string[] }
    const h = await harness({ turns: [{ text: 'Hello there.' }], plugins: [observer(seen)] })
    const session = h.session()
    const events = await h.run(session, 'Hi')
    expect(seen.events).toEqual(events)
    const runId = resultOf(events).runId
    expect(events.every((e) => e.runId === runId && typeof e.eventId === 'string' && e.timestamp > 0)).toBe(
      true,
    )
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length)
    expect(seen.calls).toEqual([`runStart ${runId} Hi`, `runEnd ${runId} end-turn`])
    // The next run goes on in the same sequence, under a new run id.
    const more = await h.run(session, 'Again')
    expect(more[0]!.seq).toBeGreaterThan(seqs.at(-1)!)
    expect(resultOf(more).runId).not.toBe(runId)
  })

  it('a failed model call: modelCallFailed, then runEnd with the error, before the result', async () => {
    const seen = { events: [] as AgentEvent[], calls: [] as string[] }
    const h = await harness({
      turns: [{ status: 400, errorMessage: 'bad request from the model' }],
      plugins: [observer(seen)],
    })
    const events = await h.run(h.session(), 'Hi')
    const runId = resultOf(events).runId
    expect(resultOf(events).stopReason).toBe('error')
    expect(seen.calls).toEqual([
      `runStart ${runId} Hi`,
      expect.stringMatching(new RegExp(`^modelCallFailed ${runId} .* false$`)),
      `runEnd ${runId} error`,
    ])
  })
})
