/**
 * Styled text for the terminal: spans (text + style) instead of strings with escape codes, so
 * widths, wrapping and cutting work on what the user sees, and colour is applied once at the end
 * (or not at all, with NO_COLOR). Widths count what a terminal shows: wide CJK characters and
 * emoji take two columns, combining marks none (string-width).
 */
import stringWidth from 'string-width'

export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray'

export interface SpanStyle {
  readonly bold?: boolean
  readonly dim?: boolean
  readonly italic?: boolean
  readonly underline?: boolean
  readonly strike?: boolean
  readonly inverse?: boolean
  readonly color?: Color
}

export interface Span {
  readonly text: string
  readonly style?: SpanStyle
}

/** One screen row: spans that fit the width they were laid out for. */
export type Row = readonly Span[]

const COLOR_CODES: Record<Color, number> = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  gray: 90,
}

function codes(style: SpanStyle | undefined): string {
  if (!style) return ''
  const out: number[] = []
  if (style.bold) out.push(1)
  if (style.dim) out.push(2)
  if (style.italic) out.push(3)
  if (style.underline) out.push(4)
  if (style.inverse) out.push(7)
  if (style.strike) out.push(9)
  if (style.color) out.push(COLOR_CODES[style.color])
  return out.length === 0 ? '' : `\u001b[${out.join(';')}m`
}

/** The row as the terminal gets it: escape codes only when `color` is on. */
export function ansi(row: Row, color: boolean): string {
  let out = ''
  for (const span of row) {
    const open = color ? codes(span.style) : ''
    out += open === '' ? span.text : `${open}${span.text}\u001b[0m`
  }
  return out
}

/** Columns the text takes on screen (escape codes take none). */
export function textWidth(text: string): number {
  return stringWidth(text)
}

export function rowWidth(row: Row): number {
  let width = 0
  for (const span of row) width += stringWidth(span.text)
  return width
}

let segmenter: Intl.Segmenter | undefined

/** User-perceived characters: an emoji with its modifiers, a letter with its accents. */
export function graphemes(text: string): string[] {
  if (/^[\x20-\x7e]*$/.test(text)) return text.split('')
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  return Array.from(segmenter.segment(text), (s) => s.segment)
}

export const span = (text: string, style?: SpanStyle): Span => (style ? { text, style } : { text })

/** Cuts a row to at most `width` columns, ending with `…` when something was cut. */
export function cutRow(row: Row, width: number): Row {
  if (rowWidth(row) <= width) return row
  const out: Span[] = []
  let used = 0
  const room = Math.max(0, width - 1)
  for (const s of row) {
    let text = ''
    for (const g of graphemes(s.text)) {
      const w = stringWidth(g)
      if (used + w > room) break
      text += g
      used += w
    }
    if (text !== '') out.push(span(text, s.style))
    if (text.length < s.text.length) break
  }
  out.push(span('…', row.at(-1)?.style))
  return out
}

/**
 * Breaks a row between characters every `width` columns, keeping every character (spaces too):
 * for code and raw table lines, where a word wrap would drop the spaces at each break.
 */
export function breakRow(row: Row, width: number): Row[] {
  if (rowWidth(row) <= width) return [row]
  const rows: Span[][] = []
  let current: Span[] = []
  let used = 0
  for (const s of row) {
    for (const g of graphemes(s.text)) {
      const w = stringWidth(g)
      if (used + w > width && used > 0) {
        rows.push(current)
        current = []
        used = 0
      }
      push(current, g, s.style)
      used += w
    }
  }
  rows.push(current)
  return rows
}

interface Piece {
  readonly text: string
  readonly style: SpanStyle | undefined
  readonly space: boolean
}

/** Words and runs of spaces, each keeping its span's style. */
function pieces(spans: Row): Piece[] {
  const out: Piece[] = []
  for (const s of spans) {
    for (const part of s.text.split(/( +)/)) {
      if (part === '') continue
      out.push({ text: part, style: s.style, space: part.startsWith(' ') })
    }
  }
  return out
}

/** Appends a span, merging it into the last one when the style is the same object. */
function push(row: Span[], text: string, style: SpanStyle | undefined): void {
  const last = row.at(-1)
  if (last && last.style === style) row[row.length - 1] = span(last.text + text, style)
  else row.push(span(text, style))
}

export interface WrapOptions {
  /** Put before the first row (a bullet, a quote bar); its width is kept free on every row. */
  readonly first?: Row
  /** Put before every other row (the hanging indent). Default: spaces as wide as `first`. */
  readonly rest?: Row
}

/**
 * Lays spans out in rows of at most `width` columns: greedy word wrap at spaces, a word wider
 * than a row broken between characters, spaces at a break dropped. Newlines are not expected
 * (callers split lines first).
 */
export function wrap(spans: Row, width: number, options: WrapOptions = {}): Row[] {
  const first = options.first ?? []
  const firstWidth = rowWidth(first)
  const rest = options.rest ?? (firstWidth > 0 ? [span(' '.repeat(firstWidth))] : [])
  const rows: Span[][] = []
  let row: Span[] = [...first]
  let used = firstWidth
  let room = Math.max(1, width - firstWidth)
  let content = 0
  const newRow = () => {
    rows.push(row)
    row = [...rest]
    used = rowWidth(rest)
    room = Math.max(1, width - used)
    content = 0
  }
  for (const piece of pieces(spans)) {
    const w = stringWidth(piece.text)
    if (piece.space) {
      if (content === 0 && rows.length > 0) continue
      if (content + w <= room) {
        push(row, piece.text, piece.style)
        content += w
      }
      continue
    }
    if (content + w > room && content > 0) {
      trimEnd(row, used)
      newRow()
    }
    if (w <= room - content) {
      push(row, piece.text, piece.style)
      content += w
      continue
    }
    // A word wider than the row: break it between characters.
    for (const g of graphemes(piece.text)) {
      const gw = stringWidth(g)
      if (content + gw > room && content > 0) newRow()
      push(row, g, piece.style)
      content += gw
    }
  }
  trimEnd(row, used)
  rows.push(row)
  return rows
}

/** Drops trailing spaces of a row's content (not of its prefix, which is `prefixWidth` wide). */
function trimEnd(row: Span[], prefixWidth: number): void {
  let width = rowWidth(row)
  while (row.length > 0 && width > prefixWidth) {
    const last = row[row.length - 1]!
    const trimmed = last.text.replace(/ +$/, '')
    if (trimmed === last.text) return
    width -= last.text.length - trimmed.length
    if (trimmed === '') row.pop()
    else row[row.length - 1] = span(trimmed, last.style)
  }
}
