/** Test helper: a stream's events with adjacent deltas merged, as one network chunk would give them. */
import type { StreamEvent } from '../../../kernel/index.js'
import { pushEvent } from '../../../plugins/providers/index.js'

export function merged(events: readonly StreamEvent[]): StreamEvent[] {
  const out: StreamEvent[] = []
  for (const event of events) pushEvent(out, event)
  return out
}
