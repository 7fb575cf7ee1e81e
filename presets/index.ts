/**
 * The built-in presets, by name. Each loads on demand, so starting one never imports the
 * plugins of another.
 */
import type { PresetCatalog } from '../kernel/index.js'

export const builtinPresets: PresetCatalog = Object.freeze({
  minimal: () => import('./minimal.js').then((m) => m.default),
  coding: () => import('./coding.js').then((m) => m.default),
})

/** The preset `tau start` uses when neither --preset nor the config names one. */
export const DEFAULT_PRESET = 'coding'
