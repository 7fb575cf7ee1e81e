/** A session's tool state: a Map, created once per session, never shared between sessions. */
import type { ToolState } from './tool.js'

export function createToolState(): ToolState {
  const values = new Map<string, unknown>()
  return {
    get: <T>(key: string) => values.get(key) as T | undefined,
    set: <T>(key: string, value: T) => {
      values.set(key, value)
    },
  }
}
