/** pushEvent: adjacent deltas of one chunk merge; what must stay apart stays apart. */
import { describe, expect, it } from 'vitest'
import type { StreamEvent } from '../../../kernel/index.js'
import { merged } from './merged.js'

describe('pushEvent', () => {
  it('joins adjacent text, plain reasoning and one tool call’s argument pieces', () => {
    const events: StreamEvent[] = [
      { type: 'reasoning-delta', text: 'Let ' },
      { type: 'reasoning-delta', text: 'me think' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'tool-call-start', id: 'a', name: 'Read' },
      { type: 'tool-call-delta', id: 'a', argumentsDelta: '{"p' },
      { type: 'tool-call-delta', id: 'a', argumentsDelta: '":1}' },
    ]
    expect(merged(events)).toEqual([
      { type: 'reasoning-delta', text: 'Let me think' },
      { type: 'text-delta', text: 'Hello' },
      { type: 'tool-call-start', id: 'a', name: 'Read' },
      { type: 'tool-call-delta', id: 'a', argumentsDelta: '{"p":1}' },
    ])
  })

  it('keeps apart what means something apart: signatures, redacted reasoning, two tool calls, other kinds', () => {
    const events: StreamEvent[] = [
      { type: 'reasoning-delta', text: 'plan' },
      { type: 'reasoning-delta', text: '', signature: 'sig-1' },
      { type: 'reasoning-delta', text: 'next' },
      { type: 'reasoning-delta', text: '', signature: 'opaque', redacted: true },
      { type: 'tool-call-delta', id: 'a', argumentsDelta: '{}' },
      { type: 'tool-call-delta', id: 'b', argumentsDelta: '{}' },
      { type: 'text-delta', text: 'x' },
      { type: 'reasoning-delta', text: 'y' },
      { type: 'text-delta', text: 'z' },
    ]
    expect(merged(events)).toEqual(events)
  })
})
