/** The terminal's one-line renderings of tool calls. */
import { describe, expect, it } from 'vitest'
import { summarizeInput, truncate } from '../../../plugins/terminal/render.js'

describe('terminal render', () => {
  it('summarises and truncates tool input to fit the line', () => {
    expect(summarizeInput('Bash', { command: 'npm test' })).toBe('npm test')
    const cut = truncate('x'.repeat(200), 40)
    expect(Array.from(cut)).toHaveLength(40)
    expect(cut.endsWith('…')).toBe(true)
  })
})
