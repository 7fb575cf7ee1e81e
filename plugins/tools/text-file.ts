/**
 * Text files as the file tools see them: bytes to text and back without loss. The encoding a
 * file came in (UTF-8 with or without a BOM, UTF-16 with a BOM, or bytes that are not UTF-8,
 * kept as Latin-1 so every byte round-trips) is the encoding it is written back in.
 */

export type TextEncoding = 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be' | 'latin1'

export interface DecodedText {
  readonly text: string
  readonly encoding: TextEncoding
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A NUL byte in the first 8 KiB (what git and grep look at), unless it is UTF-16 with a BOM. */
export function looksBinary(data: Uint8Array): boolean {
  if (hasUtf16Bom(data)) return false
  const head = data.subarray(0, 8192)
  return head.indexOf(0) !== -1
}

function hasUtf16Bom(data: Uint8Array): boolean {
  return (
    data.length >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))
  )
}

export function decodeText(data: Buffer): DecodedText {
  if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    return { text: data.subarray(3).toString('utf8'), encoding: 'utf8-bom' }
  }
  if (data.length >= 2 && data[0] === 0xff && data[1] === 0xfe) {
    return { text: data.subarray(2).toString('utf16le'), encoding: 'utf16le' }
  }
  if (data.length >= 2 && data[0] === 0xfe && data[1] === 0xff) {
    const swapped = Buffer.from(data.subarray(2))
    swapped.swap16()
    return { text: swapped.toString('utf16le'), encoding: 'utf16be' }
  }
  try {
    return { text: strictUtf8.decode(data), encoding: 'utf8' }
  } catch {
    return { text: data.toString('latin1'), encoding: 'latin1' }
  }
}

/** Text to bytes in the given encoding; Latin-1 that cannot hold the text becomes UTF-8. */
export function encodeText(text: string, encoding: TextEncoding): Buffer {
  switch (encoding) {
    case 'utf8-bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])
    case 'utf16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
    case 'utf16be': {
      const body = Buffer.from(text, 'utf16le')
      body.swap16()
      return Buffer.concat([Buffer.from([0xfe, 0xff]), body])
    }
    case 'latin1':
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the Latin-1 range is the point
      return /^[\u0000-\u00ff]*$/.test(text) ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8')
    default:
      return Buffer.from(text, 'utf8')
  }
}

/** The file's line ending: CRLF when most of its line breaks are CRLF. */
export function lineEnding(text: string): '\r\n' | '\n' {
  let crlf = 0
  let lf = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (i > 0 && text.charCodeAt(i - 1) === 13) crlf++
    else lf++
  }
  return crlf > lf ? '\r\n' : '\n'
}

/** Rewrites every line break to `eol`. */
export function withLineEnding(text: string, eol: '\r\n' | '\n'): string {
  return text.replace(/\r?\n/g, eol)
}

/** The lines of a text, without their breaks; a final line break does not start another line. */
export function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1)
  }
  return lines
}
