/**
 * The screen of the interactive terminal: finished output scrolls up as ordinary terminal text
 * (so scroll-back, copy and paste work as everywhere), and below it one live area is redrawn in
 * place — the model's unfinished line, the spinner, the input box. Printing erases the live area,
 * writes the new rows, and draws the live area again under them.
 *
 * Not a TTY (piped output, tests with streams): rows are printed as lines and the live area is
 * never drawn.
 */
import { ansi, type Row, rowWidth } from './text.js'

export interface ScreenStream {
  write(text: string): unknown
  readonly columns?: number
  readonly rows?: number
  readonly isTTY?: boolean
}

export interface Cursor {
  /** Index of the live row the cursor is on. */
  readonly row: number
  /** Column within that row. */
  readonly col: number
}

const HIDE = '\u001b[?25l'
const SHOW = '\u001b[?25h'
// Synchronized output: terminals that know it show a frame at once (no flicker); others ignore it.
const BEGIN = '\u001b[?2026h'
const END = '\u001b[?2026l'

export class Screen {
  /** Physical rows the live area takes now. */
  private drawnRows = 0
  /** The physical row of the live area the terminal's cursor is on. */
  private cursorRow = 0
  private live: readonly Row[] = []
  private cursor: Cursor | undefined
  private cursorShown = true
  private lastColumns: number

  constructor(
    private readonly out: ScreenStream,
    readonly color: boolean,
    /** Draw the live area (a TTY) or print plain lines only. */
    readonly interactive: boolean,
  ) {
    this.lastColumns = this.columns
  }

  get columns(): number {
    const columns = this.out.columns
    return columns !== undefined && columns > 0 ? columns : 80
  }

  get rows(): number {
    const rows = this.out.rows
    return rows !== undefined && rows > 0 ? rows : 24
  }

  /** Writes rows above the live area, for good. */
  print(rows: readonly Row[]): void {
    if (rows.length === 0) return
    const text = rows.map((row) => ansi(row, this.color)).join(this.interactive ? '\r\n' : '\n')
    if (!this.interactive) {
      this.out.write(`${text}\n`)
      return
    }
    this.out.write(`${BEGIN}${this.erase()}${text}\r\n${this.draw()}${END}`)
  }

  /** Replaces the live area; `cursor` puts the terminal's cursor there (else it is hidden). */
  render(live: readonly Row[], cursor?: Cursor): void {
    this.live = live
    this.cursor = cursor
    if (!this.interactive) return
    this.out.write(`${BEGIN}${this.erase()}${this.draw()}${END}`)
  }

  /**
   * The terminal changed size: what was drawn at the old width may have been reflowed, so the
   * next frame erases as many rows as the old one may take now (some terminals reflow, some do
   * not). The caller draws that frame.
   */
  resized(): void {
    if (!this.interactive) return
    const before = this.lastColumns
    this.lastColumns = this.columns
    if (before === this.columns) return
    this.drawnRows = Math.max(this.drawnRows, this.physicalRows(this.live, this.columns))
    this.cursorRow = Math.min(this.cursorRow, this.drawnRows - 1)
  }

  /** Erases the live area and shows the cursor: the terminal as tau found it. */
  close(): void {
    if (!this.interactive) return
    this.live = []
    this.cursor = undefined
    this.out.write(`${this.erase()}${SHOW}`)
    this.cursorShown = true
  }

  /** Clears the whole screen and scroll-back view (Ctrl-L), then draws the live area again. */
  clearScreen(): void {
    if (!this.interactive) return
    this.drawnRows = 0
    this.cursorRow = 0
    this.out.write(`\u001b[2J\u001b[3J\u001b[H${this.draw()}`)
  }

  private physicalRows(rows: readonly Row[], columns: number): number {
    let count = 0
    for (const row of rows) count += Math.max(1, Math.ceil(rowWidth(row) / columns))
    return count
  }

  /** Back to the top-left of the live area, and everything below cleared. */
  private erase(): string {
    if (this.drawnRows === 0) return '\r'
    const up = this.cursorRow > 0 ? `\u001b[${this.cursorRow}A` : ''
    this.drawnRows = 0
    this.cursorRow = 0
    return `\r${up}\u001b[J`
  }

  /** The live area from the cursor's place (the area's top-left); leaves the cursor set. */
  private draw(): string {
    const columns = this.columns
    let rows = this.live
    let cursor = this.cursor
    // Never taller than the screen: rows scrolled off could not be erased again.
    const room = this.rows - 1
    while (rows.length > 1 && this.physicalRows(rows, columns) > room) {
      rows = rows.slice(1)
      if (cursor) cursor = cursor.row > 0 ? { row: cursor.row - 1, col: cursor.col } : undefined
    }
    if (rows.length === 0) {
      this.drawnRows = 0
      return this.cursorVisibility(false)
    }
    let text = rows.map((row) => ansi(row, this.color)).join('\r\n')
    const total = this.physicalRows(rows, columns)
    this.drawnRows = total
    this.cursorRow = total - 1
    if (!cursor) return `${text}${this.cursorVisibility(false)}`
    const above = this.physicalRows(rows.slice(0, cursor.row), columns)
    const target = above + Math.floor(cursor.col / columns)
    const col = cursor.col % columns
    const up = total - 1 - target
    if (up > 0) text += `\u001b[${up}A`
    text += `\r${col > 0 ? `\u001b[${col}C` : ''}`
    this.cursorRow = target
    return `${text}${this.cursorVisibility(true)}`
  }

  private cursorVisibility(shown: boolean): string {
    if (shown === this.cursorShown) return ''
    this.cursorShown = shown
    return shown ? SHOW : HIDE
  }
}
