/**
 * A question with a few answers, asked in the live area: Up/Down (or Tab) move, Enter picks, a
 * digit or an answer's letter picks at once, Esc cancels. Pure state, drawn by `rows()`.
 */
import type { Key } from './editor.js'
import { type Row, type SpanStyle, span, wrap } from './text.js'

export interface ChoiceOption<T> {
  readonly label: string
  /** A letter that picks it (`y`, `a`, `n`), besides its number. */
  readonly letter?: string
  readonly value: T
}

export type ChoiceAction<T> =
  | { readonly type: 'picked'; readonly value: T }
  | { readonly type: 'cancel' }
  | { readonly type: 'interrupt' }
  | { readonly type: 'changed' }
  | { readonly type: 'ignored' }

export class Choice<T> {
  private index: number

  constructor(
    /** The question's lines, already styled (the tool call it asks about, say). */
    readonly title: readonly Row[],
    readonly options: readonly ChoiceOption<T>[],
    /** The answer selected at first. */
    initial = 0,
  ) {
    this.index = Math.max(0, Math.min(initial, options.length - 1))
  }

  get selected(): number {
    return this.index
  }

  key(str: string | undefined, key: Key): ChoiceAction<T> {
    if (key.ctrl && key.name === 'c') return { type: 'interrupt' }
    switch (key.name) {
      case 'up':
        this.index = (this.index + this.options.length - 1) % this.options.length
        return { type: 'changed' }
      case 'down':
      case 'tab':
        this.index = (this.index + 1) % this.options.length
        return { type: 'changed' }
      case 'return':
        return { type: 'picked', value: this.options[this.index]!.value }
      case 'escape':
        return { type: 'cancel' }
    }
    if (str !== undefined && str.length === 1 && !key.ctrl && !key.meta) return this.answer(str)
    return { type: 'ignored' }
  }

  /** A typed answer: a number, or an option's letter. */
  answer(text: string): ChoiceAction<T> {
    const lower = text.trim().toLowerCase()
    const number = Number(lower)
    if (Number.isInteger(number) && number >= 1 && number <= this.options.length)
      return { type: 'picked', value: this.options[number - 1]!.value }
    const byLetter = this.options.find((o) => o.letter !== undefined && o.letter === lower)
    return byLetter ? { type: 'picked', value: byLetter.value } : { type: 'ignored' }
  }

  rows(width: number, color: boolean): Row[] {
    const rows: Row[] = [...this.title]
    this.options.forEach((option, i) => {
      const on = i === this.index
      const style: SpanStyle | undefined = on
        ? color
          ? { color: 'cyan', bold: true }
          : undefined
        : undefined
      const marker = on ? '❯ ' : '  '
      rows.push(...wrap([span(option.label, style)], width, { first: [span(`${marker}${i + 1}. `, style)] }))
    })
    return rows
  }
}
