import { definePreset } from '../kernel/index.js'

/**
 * The kernel and nothing else: no model, no tools, no frontend. The base every other preset
 * extends, and the preset to start from when you assemble your own plugin set.
 */
export default definePreset({
  name: 'minimal',
  description: 'The kernel alone; add your own plugins.',
  plugins: [],
})
