/** The input box's editor: keys in, text and actions out, and its layout. */
import { describe, expect, it } from 'vitest'
import { Editor, type Key } from '../../../plugins/terminal/editor.js'
import { ansi, span } from '../../../plugins/terminal/text.js'

const k = (name: string, extra: Partial<Key> = {}): Key => ({ name, ...extra })
function type(editor: Editor, text: string) {
  for (const ch of text) editor.key(ch, { sequence: ch })
}

describe('editor', () => {
  it('types, moves by character and word, deletes, and submits', () => {
    const e = new Editor()
    type(e, 'hello wörld 😀')
    expect(e.text).toBe('hello wörld 😀')
    e.key(undefined, k('backspace'))
    expect(e.text).toBe('hello wörld ')
    e.key(undefined, k('left', { meta: true }))
    e.key(undefined, k('w', { ctrl: true }))
    expect(e.text).toBe('wörld ')
    e.key(undefined, k('e', { ctrl: true }))
    type(e, '!')
    e.key(undefined, k('a', { ctrl: true }))
    e.key(undefined, k('k', { ctrl: true }))
    expect(e.text).toBe('')
    type(e, 'go')
    expect(e.key('\r', k('return'))).toEqual({ type: 'submit', text: 'go', shown: 'go' })
  })

  it('makes new lines with Alt-Enter, Ctrl-J, Shift-Enter (kitty) and a backslash before Enter', () => {
    const e = new Editor()
    type(e, 'a')
    e.key('\r', k('return', { meta: true }))
    type(e, 'b')
    e.key('\n', k('enter'))
    type(e, 'c\\')
    expect(e.key('\r', k('return'))).toEqual({ type: 'changed' })
    type(e, 'd')
    e.key(undefined, { code: '[13;2u', name: 'undefined' })
    type(e, 'e')
    expect(e.text).toBe('a\nb\nc\nd\ne')
  })

  it('moves up and down between lines, and walks history at the first and last line', () => {
    const e = new Editor()
    e.setHistory(['old one', 'newer'])
    type(e, 'draft')
    e.key(undefined, k('up'))
    expect(e.text).toBe('newer')
    e.key(undefined, k('up'))
    expect(e.text).toBe('old one')
    e.key(undefined, k('up'))
    expect(e.text).toBe('old one')
    e.key(undefined, k('down'))
    e.key(undefined, k('down'))
    expect(e.text).toBe('draft')
    e.setText('first line\nsecond')
    e.key(undefined, k('up'))
    expect(e.cursor).toBe(6)
    expect(e.key(undefined, k('down'))).toEqual({ type: 'changed' })
    expect(e.cursor).toBe('first line\nsecond'.length)
  })

  it('keeps a bracketed paste whole: short as typed, long as a placeholder expanded on send', () => {
    const e = new Editor()
    e.key(undefined, k('paste-start'))
    for (const ch of 'x\ry') e.key(ch, ch === '\r' ? k('return') : { sequence: ch })
    e.key(undefined, k('paste-end'))
    expect(e.text).toBe('x\ny')
    e.clear()
    const long = Array.from({ length: 8 }, (_, i) => `line ${i}`).join('\n')
    e.key(undefined, k('paste-start'))
    for (const ch of long) e.key(ch, ch === '\n' ? k('enter') : { sequence: ch })
    e.key(undefined, k('paste-end'))
    expect(e.text).toBe('[Pasted text #1 +8 lines]')
    type(e, ' fix it')
    expect(e.key('\r', k('return'))).toEqual({
      type: 'submit',
      text: `${long} fix it`,
      shown: '[Pasted text #1 +8 lines] fix it',
    })
  })

  it('reports the keys the session acts on', () => {
    const e = new Editor()
    expect(e.key('\u0003', k('c', { ctrl: true }))).toEqual({ type: 'interrupt' })
    expect(e.key(undefined, k('d', { ctrl: true }))).toEqual({ type: 'eof' })
    expect(e.key(undefined, k('tab', { shift: true }))).toEqual({ type: 'cycle-mode' })
    expect(e.key(undefined, k('escape'))).toEqual({ type: 'escape' })
    expect(e.key('\t', k('tab'))).toEqual({ type: 'complete' })
    type(e, 'x')
    expect(e.key(undefined, k('d', { ctrl: true }))).toEqual({ type: 'changed' })
    expect(e.key('\u0007', { sequence: '\u0007' })).toEqual({ type: 'ignored' })
  })

  it('lays out wrapped lines with the prompt and puts the cursor on the right row and column', () => {
    const e = new Editor()
    e.setText('abcdefghij\nxy')
    const layout = e.layout(8, [span('> ')])
    // 8 columns, 2 for the prompt, 1 kept free: 5 characters a row.
    expect(layout.rows.map((r) => ansi(r, false))).toEqual(['> abcde', '  fghij', '  xy'])
    expect(layout.cursor).toEqual({ row: 2, col: 4 })
    e.setText('abcde')
    expect(e.layout(8, [span('> ')]).cursor).toEqual({ row: 1, col: 2 })
    e.setText(Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n'), 0)
    const windowed = e.layout(80, [span('> ')], 5)
    expect(windowed.rows).toHaveLength(5)
    expect(windowed.cursor.row).toBe(0)
  })
})

describe('history search (Ctrl-R)', () => {
  it('finds the newest match, older ones with Ctrl-R again, keeps it to edit, Esc puts back the draft', () => {
    const e = new Editor()
    e.setHistory(['npm test', 'git status', 'npm run build', 'echo hi'])
    type(e, 'draft')
    e.key('\u0012', k('r', { ctrl: true }))
    type(e, 'npm')
    expect(e.text).toBe('npm run build')
    expect(e.searching).toEqual({ query: 'npm', found: true })
    e.key('\u0012', k('r', { ctrl: true }))
    expect(e.text).toBe('npm test')
    e.key('\u0012', k('r', { ctrl: true }))
    expect(e.text).toBe('npm test')
    expect(e.key('\r', k('return'))).toEqual({ type: 'changed' })
    expect(e.searching).toBeUndefined()
    expect(e.text).toBe('npm test')
    type(e, ' -- -t x')
    expect(e.text).toBe('npm test -- -t x')

    e.setText('keep me')
    e.key('\u0012', k('r', { ctrl: true }))
    type(e, 'zzz')
    expect(e.searching).toEqual({ query: 'zzz', found: false })
    e.key(undefined, k('escape'))
    expect(e.text).toBe('keep me')
    expect(e.searching).toBeUndefined()
  })
})
