/**
 * Keys from a TTY: raw mode, node:readline's keypress decoding (escape sequences, Esc after a
 * short wait, bracketed paste), and the terminal modes tau turns on for the session and back
 * off when it leaves.
 */
import { emitKeypressEvents } from 'node:readline'
import type { Key } from './editor.js'

// Bracketed paste: the terminal marks pasted text, so a paste with newlines is not many Enters.
const PASTE_ON = '\u001b[?2004h'
const PASTE_OFF = '\u001b[?2004l'

/** How long a lone Esc waits for the rest of an escape sequence (readline's default is 500 ms). */
const ESCAPE_TIMEOUT_MS = 50

interface RawInput extends NodeJS.ReadableStream {
  setRawMode?(raw: boolean): unknown
  isRaw?: boolean
}

export class KeyInput {
  private readonly listener = (str: string | undefined, key: Key | undefined) => {
    this.onKey(str, key ?? { sequence: str })
  }
  private started = false

  constructor(
    private readonly input: RawInput,
    private readonly output: NodeJS.WritableStream,
    private readonly onKey: (str: string | undefined, key: Key) => void,
  ) {}

  start(): void {
    if (this.started) return
    this.started = true
    emitKeypressEvents(this.input, { escapeCodeTimeout: ESCAPE_TIMEOUT_MS } as never)
    this.input.setRawMode?.(true)
    this.input.on('keypress', this.listener)
    this.input.resume()
    this.output.write(PASTE_ON)
  }

  /** Gives the terminal back as it was: cooked mode, no bracketed paste. */
  stop(): void {
    if (!this.started) return
    this.started = false
    this.input.removeListener('keypress', this.listener)
    this.input.setRawMode?.(false)
    this.input.pause()
    this.output.write(PASTE_OFF)
  }
}
