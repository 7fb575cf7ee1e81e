/**
 * Stream events of one network chunk, merged where that changes nothing but their number: the
 * text deltas that arrived together are one delta, and likewise a tool call's argument pieces
 * and plain reasoning. Consumers see the same text at the same moment (nothing waits for a
 * later chunk), with one event — one await through every layer of the stream — instead of many.
 */
import type { StreamEvent } from '../../kernel/index.js'

/** Pushes `event` onto `out`, joining it to the last event when both are deltas of one kind. */
export function pushEvent(out: StreamEvent[], event: StreamEvent): void {
  const at = out.length - 1
  const last = out[at]
  if (last !== undefined) {
    if (event.type === 'text-delta' && last.type === 'text-delta') {
      out[at] = { type: 'text-delta', text: last.text + event.text }
      return
    }
    if (event.type === 'tool-call-delta' && last.type === 'tool-call-delta' && last.id === event.id) {
      out[at] = {
        type: 'tool-call-delta',
        id: last.id,
        argumentsDelta: last.argumentsDelta + event.argumentsDelta,
      }
      return
    }
    // A signature closes a reasoning part (and redacted reasoning is opaque): only plain text joins.
    if (
      event.type === 'reasoning-delta' &&
      last.type === 'reasoning-delta' &&
      event.signature === undefined &&
      last.signature === undefined &&
      event.redacted !== true &&
      last.redacted !== true
    ) {
      out[at] = { type: 'reasoning-delta', text: last.text + event.text }
      return
    }
  }
  out.push(event)
}
