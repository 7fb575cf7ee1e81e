/** Styled rows: display widths, word wrap, cutting. */
import { describe, expect, it } from 'vitest'
import { ansi, breakRow, cutRow, rowWidth, span, textWidth, wrap } from '../../../plugins/terminal/text.js'

describe('text', () => {
  it('measures what the terminal shows: wide characters two columns, escapes none', () => {
    expect(textWidth('abc')).toBe(3)
    expect(textWidth('中文')).toBe(4)
    expect(textWidth('😀')).toBe(2)
    expect(textWidth('\u001b[31mx\u001b[0m')).toBe(1)
  })

  it('wraps at spaces with a hanging indent and breaks words wider than a row', () => {
    const rows = wrap([span('one two '), span('three', { bold: true }), span(' four')], 10, {
      first: [span('- ')],
    })
    expect(rows.map((r) => ansi(r, false))).toEqual(['- one two', '  three', '  four'])
    expect(rows[1]!.find((s) => s.text === 'three')?.style).toEqual({ bold: true })
    const long = wrap([span('x'.repeat(12))], 5)
    expect(long.map((r) => ansi(r, false))).toEqual(['xxxxx', 'xxxxx', 'xx'])
    const wide = wrap([span('中文中文中文')], 5)
    for (const row of wide) expect(rowWidth(row)).toBeLessThanOrEqual(5)
  })

  it('breaks a code row between characters, keeping every space', () => {
    const rows = breakRow([span('  if (a &&  b) {', { color: 'cyan' })], 6)
    expect(rows.map((r) => ansi(r, false))).toEqual(['  if (', 'a &&  ', 'b) {'])
    expect(rows.map((r) => ansi(r, false)).join('')).toBe('  if (a &&  b) {')
    for (const row of breakRow([span('中文中文中')], 3)) expect(rowWidth(row)).toBeLessThanOrEqual(3)
  })

  it('cuts a row to a width with an ellipsis', () => {
    const cut = cutRow([span('hello '), span('world', { bold: true })], 8)
    expect(ansi(cut, false)).toBe('hello w…')
    expect(rowWidth(cut)).toBe(8)
    expect(cutRow([span('short')], 8)).toEqual([span('short')])
  })
})
