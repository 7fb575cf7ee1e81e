/** Streaming Markdown for the terminal: rows as lines finish, the unfinished line pending. */
import { describe, expect, it } from 'vitest'
import { inline, MarkdownStream, sanitize } from '../../../plugins/terminal/markdown.js'
import { ansi, type Row, rowWidth } from '../../../plugins/terminal/text.js'

const plain = (rows: readonly Row[]) => rows.map((row) => ansi(row, false))
const colored = (rows: readonly Row[]) => rows.map((row) => ansi(row, true))

/** Feeds the text in pieces of `size` characters and collects every finished row. */
function stream(text: string, options: { color: boolean; width: number; size?: number }) {
  const md = new MarkdownStream({ color: options.color, width: () => options.width })
  const rows: Row[] = []
  const size = options.size ?? 3
  for (let i = 0; i < text.length; i += size) rows.push(...md.push(text.slice(i, i + size)))
  rows.push(...md.end())
  return rows
}

describe('inline markdown', () => {
  it('pairs emphasis, keeps unmatched markers and intraword underscores as typed', () => {
    const spans = inline('a **b** *c* ***d*** `e*f*` ~~g~~ snake_case_name 2 * 3 **open')
    const styled = spans.map((s) => [
      s.text,
      s.style?.bold ?? false,
      s.style?.italic ?? false,
      s.style?.strike ?? false,
    ])
    expect(styled).toContainEqual(['b', true, false, false])
    expect(styled).toContainEqual(['c', false, true, false])
    expect(styled).toContainEqual(['d', true, true, false])
    expect(styled).toContainEqual(['e*f*', false, false, false])
    expect(styled).toContainEqual(['g', false, false, true])
    const text = spans.map((s) => s.text).join('')
    expect(text).toBe('a b c d e*f* g snake_case_name 2 * 3 **open')
  })

  it('shows a link as its text and address, and escapes as the character', () => {
    const text = inline('see [the docs](https://example.com/x) or <https://a.b> \\*not\\*')
      .map((s) => s.text)
      .join('')
    expect(text).toBe('see the docs (https://example.com/x) or https://a.b *not*')
  })
})

describe('streamed markdown', () => {
  const doc = [
    '# Title',
    '',
    'Some **bold** words and a list:',
    '',
    '- the first item is long enough that it has to wrap onto a second row',
    '- [x] done',
    '',
    '> a quote',
    '',
    '```ts',
    'const answer = 42 // **not bold**',
    '```',
    '',
    '| name | n |',
    '|:-----|--:|',
    '| a | 1 |',
    '| bbbb | 22 |',
    '',
    'end',
  ].join('\n')

  it('renders headings, lists, quotes, code and aligned tables in colour, the same in any piece size', () => {
    const rows = stream(doc, { color: true, width: 40 })
    expect(stream(doc, { color: true, width: 40, size: 1 })).toEqual(rows)
    expect(stream(doc, { color: true, width: 40, size: 1000 })).toEqual(rows)
    const text = plain(rows)
    expect(text).toEqual([
      'Title',
      '',
      'Some bold words and a list:',
      '',
      '• the first item is long enough that it',
      '  has to wrap onto a second row',
      '• ☑ done',
      '',
      '│ a quote',
      '',
      '```ts',
      'const answer = 42 // **not bold**',
      '```',
      '',
      '┌──────┬─────┐',
      '│ name │   n │',
      '├──────┼─────┤',
      '│ a    │   1 │',
      '│ bbbb │  22 │',
      '└──────┴─────┘',
      '',
      'end',
    ])
    expect(colored(rows)[0]).toBe('\u001b[1;4mTitle\u001b[0m')
    expect(colored(rows)[2]).toContain('\u001b[1mbold\u001b[0m')
    for (const row of rows) expect(rowWidth(row)).toBeLessThanOrEqual(40)
  })

  it('without colour keeps the text as written, wrapped, with the table aligned', () => {
    const text = plain(stream(doc, { color: false, width: 40 }))
    expect(text.slice(0, 6)).toEqual([
      '# Title',
      '',
      'Some **bold** words and a list:',
      '',
      '- the first item is long enough that it',
      '  has to wrap onto a second row',
    ])
    expect(text).toContain('| name |   n |')
    expect(text).toContain('|:-----|----:|')
    expect(text).toContain('| bbbb |  22 |')
    expect(text.join('\n')).not.toContain('\u001b')
  })

  it('holds the unfinished line as pending rows until its newline', () => {
    const md = new MarkdownStream({ color: false, width: () => 80 })
    expect(md.push('Hello **wor')).toEqual([])
    expect(plain(md.pending())).toEqual(['Hello **wor'])
    expect(plain(md.push('ld**!\nNext'))).toEqual(['Hello **world**!'])
    expect(plain(md.pending())).toEqual(['Next'])
    expect(md.idle).toBe(false)
    expect(plain(md.end())).toEqual(['Next'])
    expect(md.idle).toBe(true)
  })

  it('a table wider than the terminal is printed as written, broken at the width', () => {
    const wide = `| ${'x'.repeat(30)} | ${'y'.repeat(30)} |\n|---|---|\n| a | b |\n`
    const rows = stream(wide, { color: true, width: 40 })
    for (const row of rows) expect(rowWidth(row)).toBeLessThanOrEqual(40)
    expect(plain(rows).join('')).toContain('x'.repeat(30))
  })

  it('drops control characters so the model cannot drive the terminal', () => {
    expect(sanitize('a\u001b[2Jb\u0007c\td')).toBe('a[2Jbc    d')
    const rows = stream('evil \u001b]0;title\u0007 text\n', { color: false, width: 80 })
    expect(plain(rows).join('')).not.toContain('\u001b')
  })
})
