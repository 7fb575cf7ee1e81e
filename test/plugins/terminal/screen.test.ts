/**
 * The screen's live area, checked against a real terminal emulator (xterm.js, headless): after
 * any mix of printed rows and redrawn live areas, the screen shows the output once and the live
 * area once, with the cursor where the editor wants it.
 */
import { Terminal } from '@xterm/headless'
import { describe, expect, it } from 'vitest'
import { Screen } from '../../../plugins/terminal/screen.js'
import { type Row, span } from '../../../plugins/terminal/text.js'

function emulator(cols: number, rows: number) {
  const term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 200 })
  let pending = Promise.resolve()
  const stream = {
    isTTY: true,
    get columns() {
      return term.cols
    },
    get rows() {
      return term.rows
    },
    write(text: string) {
      pending = pending.then(() => new Promise<void>((resolve) => term.write(text, resolve)))
      return true
    },
  }
  return {
    term,
    stream,
    async lines(): Promise<string[]> {
      await pending
      const buffer = term.buffer.active
      const out: string[] = []
      for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)?.translateToString(true) ?? '')
      while (out.length > 0 && out.at(-1) === '') out.pop()
      return out
    },
    async cursor() {
      await pending
      const buffer = term.buffer.active
      return { x: buffer.cursorX, y: buffer.baseY + buffer.cursorY }
    },
  }
}

const row = (text: string): Row => [span(text)]

describe('screen', () => {
  it('prints above the live area and redraws the live area in place', async () => {
    const e = emulator(30, 10)
    const screen = new Screen(e.stream, false, true)
    screen.render([row('> '), row('footer')], { row: 0, col: 2 })
    screen.print([row('first output')])
    screen.render([row('spinner'), row('> hello'), row('footer')], { row: 1, col: 7 })
    screen.print([row('second'), row('third')])
    expect(await e.lines()).toEqual(['first output', 'second', 'third', 'spinner', '> hello', 'footer'])
    expect(await e.cursor()).toEqual({ x: 7, y: 4 })
    screen.render([row('> ')], { row: 0, col: 2 })
    expect(await e.lines()).toEqual(['first output', 'second', 'third', '> '])
    screen.close()
    expect(await e.lines()).toEqual(['first output', 'second', 'third'])
  })

  it('counts rows that the terminal wraps, and keeps the live area within the screen height', async () => {
    const e = emulator(10, 6)
    const screen = new Screen(e.stream, false, true)
    screen.render([row('x'.repeat(25)), row('> ')], { row: 1, col: 2 })
    screen.print([row('out')])
    expect(await e.lines()).toEqual(['out', 'xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxx', '> '])
    // Taller than the screen: the top rows are left out, never drawn where they cannot be erased.
    screen.render(
      Array.from({ length: 12 }, (_, i) => row(`live ${i}`)),
      { row: 11, col: 0 },
    )
    screen.render([row('small')])
    const lines = await e.lines()
    expect(lines.at(-1)).toBe('small')
    expect(lines.filter((l) => l.startsWith('live'))).toEqual([])
  })

  it('prints plain lines and no live area when it is not a terminal', () => {
    let out = ''
    const screen = new Screen({ write: (t: string) => (out += t) }, false, false)
    screen.render([row('live')])
    screen.print([row('a'), [span('b', { bold: true })]])
    screen.close()
    expect(out).toBe('a\nb\n')
  })

  it('writes colour only when asked', async () => {
    let out = ''
    new Screen({ write: (t: string) => (out += t) }, true, false).print([[span('b', { bold: true })]])
    expect(out).toBe('\u001b[1mb\u001b[0m\n')
  })
})
