/**
 * The input box's editor: a multi-line buffer with a cursor, the keys people expect from a
 * shell prompt (Emacs-style line editing, word moves, history on Up/Down at the first/last line),
 * newlines by Shift/Alt-Enter, Ctrl-J or a backslash before Enter, and pasted text kept whole —
 * a long paste becomes a `[Pasted text #1 +42 lines]` placeholder that is expanded when the
 * prompt is sent. Pure state: keys in, actions out; the terminal draws it with `layout()`.
 */
import { graphemes, type Row, span, textWidth } from './text.js'

/** What node:readline's keypress events carry. */
export interface Key {
  readonly name?: string | undefined
  readonly sequence?: string | undefined
  readonly ctrl?: boolean | undefined
  readonly meta?: boolean | undefined
  readonly shift?: boolean | undefined
  readonly code?: string | undefined
}

export type EditorAction =
  /** The buffer or cursor may have changed: draw again. */
  | { readonly type: 'changed' }
  /** `text` is what to send (pastes expanded), `shown` what the box showed (placeholders kept). */
  | { readonly type: 'submit'; readonly text: string; readonly shown: string }
  | { readonly type: 'interrupt' }
  /** Ctrl-D on an empty buffer. */
  | { readonly type: 'eof' }
  | { readonly type: 'escape' }
  /** Shift-Tab. */
  | { readonly type: 'cycle-mode' }
  | { readonly type: 'clear-screen' }
  | { readonly type: 'complete' }
  /** A key the editor does not use. */
  | { readonly type: 'ignored' }

/** Pastes of more lines or characters than this become a placeholder. */
const PASTE_LINES = 5
const PASTE_CHARS = 1000

export interface EditorLayout {
  readonly rows: Row[]
  /** Where the cursor is, within `rows`. */
  readonly cursor: { readonly row: number; readonly col: number }
}

const WORD = /[\p{L}\p{N}_]/u

/** A key that types text (no Ctrl or Alt, no control character). */
function isText(str: string | undefined, key: Key): str is string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are not text
  return str !== undefined && str !== '' && !key.ctrl && !key.meta && !/[\u0000-\u001f\u007f]/.test(str)
}

export class Editor {
  private value = ''
  /** An index into `value`, always at a grapheme boundary. */
  private at = 0
  private pasting: string | undefined
  private readonly pastes = new Map<string, string>()
  private history: string[] = []
  private historyIndex = -1
  private draft = ''
  private search: { query: string; index: number; readonly before: string } | undefined
  /** Kept so a column survives moving through shorter lines. */
  private goalColumn: number | undefined

  get text(): string {
    return this.value
  }

  get cursor(): number {
    return this.at
  }

  /** True while a bracketed paste is arriving. */
  get inPaste(): boolean {
    return this.pasting !== undefined
  }

  /** The history Up/Down walk through, oldest first. */
  setHistory(entries: readonly string[]): void {
    this.history = [...entries]
    this.historyIndex = -1
  }

  setText(text: string, cursor = text.length): void {
    this.value = text
    this.at = Math.max(0, Math.min(cursor, text.length))
    this.goalColumn = undefined
  }

  clear(): void {
    this.setText('')
    this.historyIndex = -1
    this.draft = ''
    this.pastes.clear()
  }

  insert(text: string): void {
    this.value = this.value.slice(0, this.at) + text + this.value.slice(this.at)
    this.at += text.length
    this.goalColumn = undefined
  }

  /** The text to send: placeholders replaced by what was pasted. */
  expanded(text = this.value): string {
    let out = text
    for (const [placeholder, pasted] of this.pastes) out = out.split(placeholder).join(pasted)
    return out
  }

  key(str: string | undefined, key: Key): EditorAction {
    if (key.name === 'paste-start') {
      this.pasting = ''
      return { type: 'ignored' }
    }
    if (key.name === 'paste-end') {
      const pasted = this.pasting ?? ''
      this.pasting = undefined
      this.paste(pasted)
      return { type: 'changed' }
    }
    if (this.pasting !== undefined) {
      if (key.name === 'return' || key.name === 'enter') this.pasting += '\n'
      else if (str !== undefined) this.pasting += str
      return { type: 'ignored' }
    }
    if (this.search) return this.searchKey(str, key)
    if (key.ctrl && key.name === 'r') return this.startSearch()
    return this.edit(str, key)
  }

  /** The history search going on (Ctrl-R): what is typed, and the entry it found. */
  get searching(): { readonly query: string; readonly found: boolean } | undefined {
    const search = this.search
    return search ? { query: search.query, found: search.index !== -1 } : undefined
  }

  private startSearch(): EditorAction {
    if (this.history.length === 0) return { type: 'ignored' }
    this.search = { query: '', index: -1, before: this.value }
    return { type: 'changed' }
  }

  /** The newest entry at or before `from` that contains the query; -1 when none. */
  private findEntry(query: string, from: number): number {
    const needle = query.toLowerCase()
    for (let i = from; i >= 0; i--) if (this.history[i]!.toLowerCase().includes(needle)) return i
    return -1
  }

  private showFound(): void {
    const search = this.search!
    const entry = search.index === -1 ? search.before : this.history[search.index]!
    const at = search.index === -1 ? entry.length : entry.toLowerCase().indexOf(search.query.toLowerCase())
    this.value = entry
    this.at = Math.max(0, at)
  }

  /**
   * Keys during a history search: letters narrow it, Ctrl-R finds an older match, Enter or any
   * moving key keeps the match in the box to edit, Esc / Ctrl-G / Ctrl-C put back what was there.
   */
  private searchKey(str: string | undefined, key: Key): EditorAction {
    const search = this.search!
    if (key.ctrl && key.name === 'r') {
      const older = search.index <= 0 ? -1 : this.findEntry(search.query, search.index - 1)
      if (older !== -1) search.index = older
      this.showFound()
      return { type: 'changed' }
    }
    if (key.name === 'escape' || (key.ctrl && (key.name === 'g' || key.name === 'c'))) {
      this.value = search.before
      this.at = this.value.length
      this.search = undefined
      return { type: 'changed' }
    }
    if (key.name === 'backspace') {
      search.query = search.query.slice(0, -1)
      search.index = search.query === '' ? -1 : this.findEntry(search.query, this.history.length - 1)
      this.showFound()
      return { type: 'changed' }
    }
    if (isText(str, key)) {
      search.query += str
      search.index = this.findEntry(search.query, this.history.length - 1)
      this.showFound()
      return { type: 'changed' }
    }
    // Anything else ends the search with the match in the box (Enter does not send it yet).
    this.search = undefined
    this.historyIndex = -1
    if (key.name === 'return') {
      this.at = this.value.length
      return { type: 'changed' }
    }
    return this.edit(str, key)
  }

  /** Pasted text: as typed when short, as a placeholder when long. */
  paste(text: string): void {
    const clean = text.replace(/\r\n?/g, '\n')
    const lines = clean.split('\n').length
    if (lines > PASTE_LINES || clean.length > PASTE_CHARS) {
      const placeholder = `[Pasted text #${this.pastes.size + 1} +${lines} lines]`
      this.pastes.set(placeholder, clean)
      this.insert(placeholder)
      return
    }
    this.insert(clean)
  }

  private edit(str: string | undefined, key: Key): EditorAction {
    const name = key.name
    if (key.ctrl && !key.meta) {
      switch (name) {
        case 'c':
          return { type: 'interrupt' }
        case 'd':
          if (this.value === '') return { type: 'eof' }
          this.deleteForward()
          return { type: 'changed' }
        case 'a':
          this.at = this.lineStart()
          return this.moved()
        case 'e':
          this.at = this.lineEnd()
          return this.moved()
        case 'b':
          return this.left()
        case 'f':
          return this.right()
        case 'u':
          this.cut(this.lineStart(), this.at)
          return { type: 'changed' }
        case 'k':
          this.cut(
            this.at,
            this.lineEnd() === this.at ? Math.min(this.value.length, this.at + 1) : this.lineEnd(),
          )
          return { type: 'changed' }
        case 'w':
          this.cut(this.wordLeft(), this.at)
          return { type: 'changed' }
        case 'h':
          return this.backspace()
        case 'j':
          this.insert('\n')
          return { type: 'changed' }
        case 'l':
          return { type: 'clear-screen' }
        case 'p':
          return this.up()
        case 'n':
          return this.down()
        case 'left':
          this.at = this.wordLeft()
          return this.moved()
        case 'right':
          this.at = this.wordRight()
          return this.moved()
        default:
          return { type: 'ignored' }
      }
    }
    switch (name) {
      case 'return':
        if (key.meta || key.shift) {
          this.insert('\n')
          return { type: 'changed' }
        }
        // A backslash right before the cursor continues the prompt on a new line.
        if (this.value[this.at - 1] === '\\') {
          this.value = this.value.slice(0, this.at - 1) + this.value.slice(this.at)
          this.at--
          this.insert('\n')
          return { type: 'changed' }
        }
        return { type: 'submit', text: this.expanded(), shown: this.value }
      case 'enter':
        // Ctrl-J (a bare line feed): a new line.
        this.insert('\n')
        return { type: 'changed' }
      case 'backspace':
        if (key.meta) {
          this.cut(this.wordLeft(), this.at)
          return { type: 'changed' }
        }
        return this.backspace()
      case 'delete':
        this.deleteForward()
        return { type: 'changed' }
      case 'left':
        if (key.meta) {
          this.at = this.wordLeft()
          return this.moved()
        }
        return this.left()
      case 'right':
        if (key.meta) {
          this.at = this.wordRight()
          return this.moved()
        }
        return this.right()
      case 'up':
        return this.up()
      case 'down':
        return this.down()
      case 'home':
        this.at = this.lineStart()
        return this.moved()
      case 'end':
        this.at = this.lineEnd()
        return this.moved()
      case 'escape':
        return { type: 'escape' }
      case 'tab':
        return key.shift ? { type: 'cycle-mode' } : { type: 'complete' }
    }
    if (key.meta && (name === 'b' || name === 'f' || name === 'd')) {
      if (name === 'b') this.at = this.wordLeft()
      else if (name === 'f') this.at = this.wordRight()
      else this.cut(this.at, this.wordRight())
      return { type: 'changed' }
    }
    // The kitty keyboard protocol's Shift-Enter.
    if (key.code === '[13;2u') {
      this.insert('\n')
      return { type: 'changed' }
    }
    if (isText(str, key)) {
      this.insert(str)
      return { type: 'changed' }
    }
    return { type: 'ignored' }
  }

  private moved(): EditorAction {
    this.goalColumn = undefined
    return { type: 'changed' }
  }

  private cut(from: number, to: number): void {
    if (to <= from) return
    this.value = this.value.slice(0, from) + this.value.slice(to)
    this.at = from
    this.goalColumn = undefined
  }

  private previousBoundary(): number {
    if (this.at === 0) return 0
    const before = graphemes(this.value.slice(0, this.at))
    return this.at - (before.at(-1)?.length ?? 1)
  }

  private nextBoundary(): number {
    if (this.at >= this.value.length) return this.value.length
    const after = graphemes(this.value.slice(this.at, this.at + 16))
    return this.at + (after[0]?.length ?? 1)
  }

  private backspace(): EditorAction {
    this.cut(this.previousBoundary(), this.at)
    return { type: 'changed' }
  }

  private deleteForward(): void {
    this.cut(this.at, this.nextBoundary())
  }

  private left(): EditorAction {
    this.at = this.previousBoundary()
    return this.moved()
  }

  private right(): EditorAction {
    this.at = this.nextBoundary()
    return this.moved()
  }

  private lineStart(at = this.at): number {
    return this.value.lastIndexOf('\n', at - 1) + 1
  }

  private lineEnd(at = this.at): number {
    const end = this.value.indexOf('\n', at)
    return end === -1 ? this.value.length : end
  }

  private wordLeft(): number {
    let i = this.at
    while (i > 0 && !WORD.test(this.value[i - 1]!)) i--
    while (i > 0 && WORD.test(this.value[i - 1]!)) i--
    return i
  }

  private wordRight(): number {
    let i = this.at
    const n = this.value.length
    while (i < n && !WORD.test(this.value[i]!)) i++
    while (i < n && WORD.test(this.value[i]!)) i++
    return i
  }

  /** Moves to the same column of the line above; on the first line, to older history. */
  private up(): EditorAction {
    const start = this.lineStart()
    if (start === 0) return this.historyStep(-1)
    const column = this.goalColumn ?? textWidth(this.value.slice(start, this.at))
    const prevStart = this.lineStart(start - 1)
    this.at = this.atColumn(prevStart, start - 1, column)
    this.goalColumn = column
    return { type: 'changed' }
  }

  /** Moves to the same column of the line below; on the last line, to newer history. */
  private down(): EditorAction {
    const end = this.lineEnd()
    if (end === this.value.length) return this.historyStep(1)
    const column = this.goalColumn ?? textWidth(this.value.slice(this.lineStart(), this.at))
    const nextStart = end + 1
    this.at = this.atColumn(nextStart, this.lineEnd(nextStart), column)
    this.goalColumn = column
    return { type: 'changed' }
  }

  private atColumn(start: number, end: number, column: number): number {
    let width = 0
    let i = start
    for (const g of graphemes(this.value.slice(start, end))) {
      const w = textWidth(g)
      if (width + w > column) break
      width += w
      i += g.length
    }
    return i
  }

  private historyStep(direction: -1 | 1): EditorAction {
    if (this.history.length === 0) return { type: 'ignored' }
    if (this.historyIndex === -1) {
      if (direction === 1) return { type: 'ignored' }
      this.draft = this.value
      this.historyIndex = this.history.length - 1
    } else {
      const next = this.historyIndex + direction
      if (next < 0) return { type: 'ignored' }
      if (next >= this.history.length) {
        this.historyIndex = -1
        this.setText(this.draft)
        return { type: 'changed' }
      }
      this.historyIndex = next
    }
    const entry = this.history[this.historyIndex]!
    // Older entries open with the cursor at the end, as shells do.
    this.setText(entry)
    return { type: 'changed' }
  }

  /**
   * The buffer laid out in rows of `width` columns: `prompt` before the first line, as many
   * spaces before the others; long lines broken between characters; at most `maxRows` rows,
   * a window that keeps the cursor in view.
   */
  layout(width: number, prompt: Row, maxRows = 12): EditorLayout {
    const indent = prompt.reduce((w, s) => w + textWidth(s.text), 0)
    // One column stays free so the cursor never sits past the right edge.
    const room = Math.max(4, width - indent - 1)
    const rows: Row[] = []
    let cursor = { row: 0, col: indent }
    let offset = 0
    const lines = this.value.split('\n')
    lines.forEach((line, index) => {
      let text = ''
      let used = 0
      let start = offset
      let lead: Row = index === 0 ? prompt : [span(' '.repeat(indent))]
      const flush = () => {
        rows.push([...lead, span(text)])
        lead = [span(' '.repeat(indent))]
        text = ''
        used = 0
      }
      for (const g of graphemes(line)) {
        const w = textWidth(g)
        if (used + w > room) flush()
        if (start === this.at) cursor = { row: rows.length, col: indent + used }
        text += g
        used += w
        start += g.length
      }
      if (start === this.at) {
        if (used >= room) flush()
        cursor = { row: rows.length, col: indent + used }
      }
      flush()
      offset += line.length + 1
    })
    if (rows.length <= maxRows) return { rows, cursor }
    const first = Math.max(0, Math.min(cursor.row - Math.floor(maxRows / 2), rows.length - maxRows))
    return {
      rows: rows.slice(first, first + maxRows),
      cursor: { row: cursor.row - first, col: cursor.col },
    }
  }
}
