/** The ollama wire format for the scripted server. Not written yet: every path answers 404. */
import type { WireRenderer } from './types.js'

export const ollamaWire: WireRenderer = {
  handle: () => undefined,
}
