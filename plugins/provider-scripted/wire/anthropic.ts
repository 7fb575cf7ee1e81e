/** The anthropic wire format for the scripted server. Not written yet: every path answers 404. */
import type { WireRenderer } from './types.js'

export const anthropicWire: WireRenderer = {
  handle: () => undefined,
}
