/**
 * Markdown for a terminal, rendered while it streams. The model's text arrives in pieces; each
 * finished line is rendered once and for good (headings, lists, quotes, rules, fenced code,
 * inline bold / italic / code / strike / links), word-wrapped to the terminal's width with
 * hanging indents. The unfinished last line is rendered again with every piece, as `pending()`
 * rows the screen keeps in its live area until the line ends. Tables are held until their last
 * row so their columns can be aligned.
 *
 * Without colour the text stays as written (Markdown reads as plain text) and is only wrapped,
 * with tables aligned. Control characters in the model's text are dropped: a model cannot move
 * the cursor or change the terminal's state.
 */
import { breakRow, type Row, rowWidth, type Span, type SpanStyle, span, textWidth, wrap } from './text.js'

export interface MarkdownOptions {
  readonly color: boolean
  /** The terminal's width now (it may change between lines). */
  readonly width: () => number
}

interface Fence {
  readonly char: string
  readonly length: number
}

interface BlockState {
  readonly fence: Fence | undefined
  /** The last row given was blank (blank lines collapse to one). */
  readonly blank: boolean
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([^`\s]*)/
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/
const QUOTE = /^\s{0,3}>\s?(.*)$/
const LIST = /^(\s*)([-*+]|\d{1,9}[.)])(\s+)(.*)$/
const TABLE_ROW = /^\s*\|.*\|\s*$/
const TABLE_RULE = /^\s*\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?\s*)?\|?\s*$/

const CODE: SpanStyle = { color: 'cyan' }
const DIM: SpanStyle = { dim: true }

/** Drops control characters (escape sequences included) and expands tabs. */
export function sanitize(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/\t/g, '    ').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
}

export class MarkdownStream {
  private partial = ''
  private state: BlockState = { fence: undefined, blank: true }
  private table: string[] | undefined

  constructor(private readonly options: MarkdownOptions) {}

  /** Takes more text; returns the rows of the lines it finished. */
  push(text: string): Row[] {
    this.partial += sanitize(text.replace(/\r\n?/g, '\n'))
    const rows: Row[] = []
    let end = this.partial.indexOf('\n')
    while (end !== -1) {
      rows.push(...this.line(this.partial.slice(0, end)))
      this.partial = this.partial.slice(end + 1)
      end = this.partial.indexOf('\n')
    }
    return rows
  }

  /** The unfinished line (and a table being received), rendered as it stands. */
  pending(): Row[] {
    const rows: Row[] = []
    const width = this.options.width()
    if (this.table) for (const line of this.table) rows.push(...breakRow([span(line)], width))
    if (this.partial === '') return rows
    if (this.table || (this.state.fence === undefined && /^\s*\|/.test(this.partial))) {
      rows.push(...breakRow([span(this.partial)], width))
      return rows
    }
    rows.push(...renderLine(this.partial, this.state, this.options).rows)
    return rows
  }

  /** The text ended: everything still held, rendered. */
  end(): Row[] {
    const rows: Row[] = []
    if (this.partial !== '') rows.push(...this.line(this.partial))
    this.partial = ''
    rows.push(...this.flushTable())
    this.state = { fence: undefined, blank: true }
    return rows
  }

  /** True while nothing is held (no unfinished line, no table). */
  get idle(): boolean {
    return this.partial === '' && this.table === undefined
  }

  private line(line: string): Row[] {
    if (this.table) {
      if (this.state.fence === undefined && TABLE_ROW.test(line)) {
        this.table.push(line)
        return []
      }
      const rows = this.flushTable()
      return [...rows, ...this.line(line)]
    }
    if (this.state.fence === undefined && TABLE_ROW.test(line)) {
      this.table = [line]
      return []
    }
    const { rows, state } = renderLine(line, this.state, this.options)
    this.state = state
    return rows
  }

  private flushTable(): Row[] {
    const lines = this.table
    this.table = undefined
    if (!lines) return []
    const rows = renderTable(lines, this.options)
    if (rows) {
      this.state = { ...this.state, blank: false }
      return rows
    }
    // Not a table after all (no rule under the first row): ordinary lines.
    const out: Row[] = []
    for (const line of lines) {
      const rendered = renderLine(line, this.state, this.options)
      this.state = rendered.state
      out.push(...rendered.rows)
    }
    return out
  }
}

interface Rendered {
  readonly rows: Row[]
  readonly state: BlockState
}

/** One finished line, given the block state before it. Pure: the stream keeps the state. */
export function renderLine(line: string, state: BlockState, options: MarkdownOptions): Rendered {
  const width = Math.max(10, options.width())
  const { color } = options
  if (state.fence) {
    const close = FENCE.exec(line)
    if (
      close &&
      close[1]![0] === state.fence.char &&
      close[1]!.length >= state.fence.length &&
      close[2] === ''
    )
      return { rows: [[span(line, DIM)]], state: { fence: undefined, blank: false } }
    return {
      rows: breakRow([span(line, color ? CODE : undefined)], width),
      state: { ...state, blank: false },
    }
  }
  const fence = FENCE.exec(line)
  if (fence) {
    return {
      rows: [[span(line, DIM)]],
      state: { fence: { char: fence[1]![0]!, length: fence[1]!.length }, blank: false },
    }
  }
  if (line.trim() === '') return { rows: state.blank ? [] : [[]], state: { ...state, blank: true } }
  const next: BlockState = { ...state, blank: false }
  if (!color) {
    const list = LIST.exec(line)
    const quote = QUOTE.exec(line)
    if (list) {
      const indent = list[1]!.length + list[2]!.length + list[3]!.length
      return {
        rows: wrap([span(list[4]!)], width, {
          first: [span(line.slice(0, indent))],
          rest: [span(' '.repeat(indent))],
        }),
        state: next,
      }
    }
    if (quote) {
      const bar = line.slice(0, line.length - quote[1]!.length)
      return { rows: wrap([span(quote[1]!)], width, { first: [span(bar)], rest: [span(bar)] }), state: next }
    }
    const lead = /^\s*/.exec(line)![0]
    return { rows: wrap([span(line.slice(lead.length))], width, { first: [span(lead)] }), state: next }
  }
  const heading = HEADING.exec(line)
  if (heading) {
    const level = heading[1]!.length
    const style: SpanStyle =
      level === 1
        ? { bold: true, underline: true }
        : level === 2
          ? { bold: true }
          : { bold: true, dim: level > 3 }
    return { rows: wrap(inline(heading[2]!, style), width), state: next }
  }
  if (RULE.test(line)) return { rows: [[span('─'.repeat(Math.min(width, 80)), DIM)]], state: next }
  const quote = QUOTE.exec(line)
  if (quote) {
    const bar = span('│ ', DIM)
    const inner = renderLine(
      quote[1]!,
      { fence: undefined, blank: false },
      {
        ...options,
        width: () => width - 2,
      },
    ).rows
    return { rows: (inner.length === 0 ? [[]] : inner).map((row) => [bar, ...row.map(italic)]), state: next }
  }
  const list = LIST.exec(line)
  if (list) {
    const [, lead = '', marker = '', gap = '', text = ''] = list
    const bullet = /^\d/.test(marker) ? marker : '•'
    const task = /^\[([ xX])\]\s+(.*)$/.exec(text)
    const first: Span[] = [span(lead), span(`${bullet} `, { color: 'gray' })]
    if (task) first.push(span(task[1] === ' ' ? '☐ ' : '☑ ', { color: task[1] === ' ' ? 'gray' : 'green' }))
    const indent = lead.length + textWidth(bullet) + Math.max(1, Math.min(gap.length, 4))
    return {
      rows: wrap(inline(task ? task[2]! : text), width, {
        first,
        rest: [span(' '.repeat(indent + (task ? 2 : 0)))],
      }),
      state: next,
    }
  }
  const lead = /^\s*/.exec(line)![0]
  return {
    rows: wrap(inline(line.slice(lead.length)), width, { first: lead ? [span(lead)] : [] }),
    state: next,
  }
}

const italic = (s: Span): Span => span(s.text, { ...s.style, italic: true, dim: true })

type Token =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'code'; readonly text: string }
  | { readonly kind: 'link'; readonly label: string; readonly url: string }
  | {
      kind: 'delim'
      readonly char: string
      count: number
      readonly canOpen: boolean
      readonly canClose: boolean
      /** Filled while pairing: how many of its characters open or close emphasis. */
      opens?: number[]
      closes?: number[]
    }

const PUNCTUATION = /[!-/:-@[-`{-~]/
const ALNUM = /[\p{L}\p{N}]/u
const SPACE = /\s/

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let plain = ''
  const flush = () => {
    if (plain !== '') tokens.push({ kind: 'text', text: plain })
    plain = ''
  }
  let i = 0
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '\\' && i + 1 < text.length && PUNCTUATION.test(text[i + 1]!)) {
      plain += text[i + 1]
      i += 2
      continue
    }
    if (ch === '`') {
      let run = 1
      while (text[i + run] === '`') run++
      const fence = '`'.repeat(run)
      const close = text.indexOf(fence, i + run)
      if (close !== -1 && text[close + run] !== '`') {
        flush()
        const inner = text.slice(i + run, close)
        const trimmed = /^ .* $/.test(inner) && inner.trim() !== '' ? inner.slice(1, -1) : inner
        tokens.push({ kind: 'code', text: trimmed })
        i = close + run
        continue
      }
      plain += fence
      i += run
      continue
    }
    if (ch === '[') {
      const link = /^\[([^\]\n]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)/.exec(text.slice(i))
      if (link) {
        flush()
        tokens.push({ kind: 'link', label: link[1]!, url: link[2]! })
        i += link[0].length
        continue
      }
    }
    if (ch === '<') {
      const auto = /^<((?:https?|mailto):[^\s<>]+)>/.exec(text.slice(i))
      if (auto) {
        flush()
        tokens.push({ kind: 'link', label: auto[1]!, url: auto[1]! })
        i += auto[0].length
        continue
      }
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      let run = 1
      while (text[i + run] === ch) run++
      if (ch === '~' && run !== 2) {
        plain += ch.repeat(run)
        i += run
        continue
      }
      const before = i === 0 ? ' ' : text[i - 1]!
      const after = i + run >= text.length ? ' ' : text[i + run]!
      let canOpen = !SPACE.test(after)
      let canClose = !SPACE.test(before)
      if (ch === '_') {
        canOpen &&= !ALNUM.test(before)
        canClose &&= !ALNUM.test(after)
      }
      flush()
      tokens.push({ kind: 'delim', char: ch, count: run, canOpen, canClose })
      i += run
      continue
    }
    plain += ch
    i++
  }
  flush()
  return tokens
}

/** Pairs emphasis delimiters: a closer takes the nearest open run of its character. */
function pair(tokens: Token[]): void {
  const openers: Array<Extract<Token, { kind: 'delim' }> & { left: number }> = []
  for (const token of tokens) {
    if (token.kind !== 'delim') continue
    let left = token.count
    if (token.canClose) {
      for (let k = openers.length - 1; k >= 0 && left > 0; k--) {
        const opener = openers[k]!
        if (opener.char !== token.char || opener.left === 0) continue
        // `**` pairs as bold, one `*` as italic; `***` gives both.
        while (opener.left > 0 && left > 0) {
          const take = token.char === '~' ? 2 : opener.left >= 2 && left >= 2 ? 2 : 1
          if (opener.left < take || left < take) break
          opener.opens = [...(opener.opens ?? []), take]
          token.closes = [...(token.closes ?? []), take]
          opener.left -= take
          left -= take
        }
        openers.splice(k + 1)
        if (opener.left === 0) openers.splice(k, 1)
      }
    }
    if (token.canOpen && left > 0) openers.push(Object.assign(token, { left }))
  }
}

/** Inline Markdown as spans: `code`, **bold**, *italic*, ~~strike~~, [links](url). */
export function inline(text: string, base: SpanStyle = {}): Span[] {
  const tokens = tokenize(text)
  pair(tokens)
  const out: Span[] = []
  let bold = 0
  let em = 0
  let strike = 0
  const style = (): SpanStyle => ({
    ...base,
    ...(bold > 0 ? { bold: true } : {}),
    ...(em > 0 ? { italic: true } : {}),
    ...(strike > 0 ? { strike: true } : {}),
  })
  const add = (text: string, s: SpanStyle) => {
    if (text !== '') out.push(span(text, s))
  }
  for (const token of tokens) {
    switch (token.kind) {
      case 'text':
        add(token.text, style())
        break
      case 'code':
        add(token.text, { ...style(), ...CODE })
        break
      case 'link': {
        const label = token.label === '' ? token.url : token.label
        add(label, { ...style(), underline: true, color: 'blue' })
        if (token.url !== '' && token.url !== label) add(` (${token.url})`, { ...style(), dim: true })
        break
      }
      case 'delim': {
        const closes = token.closes ?? []
        const opens = token.opens ?? []
        const used = closes.reduce((a, b) => a + b, 0) + opens.reduce((a, b) => a + b, 0)
        for (const n of closes) {
          if (token.char === '~') strike--
          else if (n === 2) bold--
          else em--
        }
        // Characters that neither open nor close stay as they were typed.
        add(token.char.repeat(token.count - used), style())
        for (const n of opens) {
          if (token.char === '~') strike++
          else if (n === 2) bold++
          else em++
        }
        break
      }
    }
  }
  return out
}

/** `start` is a left column whose rule said so (`:---`): kept when printed without colour. */
type Align = 'left' | 'start' | 'center' | 'right'

function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  const out: string[] = []
  let cell = ''
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!
    if (ch === '\\' && inner[i + 1] === '|') {
      cell += '|'
      i++
    } else if (ch === '|') {
      out.push(cell.trim())
      cell = ''
    } else cell += ch
  }
  out.push(cell.trim())
  return out
}

/** An aligned table, or undefined when the lines are not one (no rule row under the header). */
function renderTable(lines: readonly string[], options: MarkdownOptions): Row[] | undefined {
  if (lines.length < 2 || !TABLE_RULE.test(lines[1]!)) return undefined
  const width = Math.max(10, options.width())
  const { color } = options
  const aligns: Align[] = cells(lines[1]!).map((c) =>
    c.startsWith(':') && c.endsWith(':')
      ? 'center'
      : c.endsWith(':')
        ? 'right'
        : c.startsWith(':')
          ? 'start'
          : 'left',
  )
  const body = [lines[0]!, ...lines.slice(2)].map((line) =>
    cells(line).map((cell) => (color ? inline(cell) : [span(cell)])),
  )
  const columns = Math.max(aligns.length, ...body.map((row) => row.length))
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(3, ...body.map((row) => rowWidth(row[c] ?? []))),
  )
  const bar = color ? '│' : '|'
  const total = widths.reduce((a, b) => a + b + 3, 1)
  if (total > width) {
    // Too wide to align: the rows as written, broken at the width.
    return lines.flatMap((line) => breakRow([span(line)], width))
  }
  const rule = (left: string, mid: string, right: string) =>
    color
      ? [span(`${left}${widths.map((w) => '─'.repeat(w + 2)).join(mid)}${right}`, DIM)]
      : [span(`|${widths.map((w, c) => ruleCell(w + 2, aligns[c] ?? 'left')).join('|')}|`)]
  const rowOf = (row: Span[][], header: boolean): Row => {
    const out: Span[] = [span(bar, DIM)]
    for (let c = 0; c < columns; c++) {
      const cell = row[c] ?? []
      const pad = widths[c]! - rowWidth(cell)
      const align = aligns[c] ?? 'left'
      const before = align === 'right' ? pad : align === 'center' ? Math.floor(pad / 2) : 0
      out.push(span(` ${' '.repeat(before)}`))
      for (const s of cell) out.push(header && color ? span(s.text, { ...s.style, bold: true }) : s)
      out.push(span(`${' '.repeat(pad - before)} `), span(bar, DIM))
    }
    return out
  }
  const rows: Row[] = []
  if (color) rows.push(rule('┌', '┬', '┐'))
  rows.push(rowOf(body[0]!, true))
  rows.push(color ? rule('├', '┼', '┤') : rule('|', '|', '|'))
  for (const row of body.slice(1)) rows.push(rowOf(row, false))
  if (color) rows.push(rule('└', '┴', '┘'))
  return rows
}

function ruleCell(width: number, align: Align): string {
  if (align === 'center') return `:${'-'.repeat(width - 2)}:`
  if (align === 'right') return `${'-'.repeat(width - 1)}:`
  if (align === 'start') return `:${'-'.repeat(width - 1)}`
  return '-'.repeat(width)
}
