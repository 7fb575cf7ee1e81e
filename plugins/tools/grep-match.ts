/**
 * Matching for Grep: JavaScript regular expressions applied line by line, as grep and ripgrep
 * do (a match never spans lines unless `multiline` is on), plus a cheap pre-check on the raw
 * bytes: a literal every match must contain is looked for with Buffer.indexOf before the file is
 * decoded, so most files that cannot match are never turned into strings.
 */

export interface CompiledPattern {
  /** Global, multiline (`^`/`$` at line ends); dotAll too in multiline mode. */
  readonly scan: RegExp
  /** The same pattern, not global, for testing one line. */
  readonly line: RegExp
  /** Literals (as UTF-8 bytes) every match contains, longest first; empty when none is known. */
  readonly required: readonly Buffer[]
  /**
   * For case-insensitive searches: every letter-case spelling of the start of an ASCII literal
   * every match contains. A file holding none of them cannot match; each is a native
   * Buffer.indexOf, far cheaper than decoding the file.
   */
  readonly requiredAnyCase: readonly Buffer[]
  readonly multiline: boolean
}

/** Leading inline flags as ripgrep users write them: (?i), (?s), (?is) ... */
const INLINE_FLAGS = /^\(\?([imsx]+)\)/

export function compilePattern(
  pattern: string,
  options: { ignoreCase?: boolean; multiline?: boolean } = {},
): CompiledPattern {
  let source = pattern
  const flags = new Set(['g', 'm'])
  const inline = INLINE_FLAGS.exec(source)
  if (inline) {
    source = source.slice(inline[0].length)
    if (inline[1]!.includes('i')) flags.add('i')
    if (inline[1]!.includes('s')) flags.add('s')
  }
  if (options.ignoreCase) flags.add('i')
  if (options.multiline) flags.add('s')
  // \p{...} and \u{...} need unicode mode; elsewhere it would reject escapes people write (\-, \/).
  if (/\\[pP]\{|\\u\{|\\k</.test(source)) flags.add('u')
  const flagText = [...flags].join('')
  const scan = new RegExp(source, flagText)
  const line = new RegExp(source, flagText.replace('g', ''))
  const literals = requiredLiterals(source)
  const caseless = (literal: string) => literal.toLowerCase() === literal.toUpperCase()
  const required = literals
    .filter((literal) => !flags.has('i') || caseless(literal))
    .map((literal) => Buffer.from(literal, 'utf8'))
  // ASCII only: a match in the UTF-8 text then has the same bytes in the Latin-1 view.
  const folded = flags.has('i')
    ? literals.find((literal) => !caseless(literal) && /^[\x20-\x7e]+$/.test(literal))
    : undefined
  const requiredAnyCase =
    folded === undefined ? [] : caseSpellings(folded).map((s) => Buffer.from(s, 'latin1'))
  return { scan, line, required, requiredAnyCase, multiline: options.multiline ?? false }
}

/**
 * Every letter-case spelling of a short piece of an ASCII literal (up to 3 letters, at most 8
 * spellings), so a case-insensitive pre-check stays a few indexOf calls. The piece avoids s and k:
 * case-insensitive matching also takes 'ſ' (U+017F) for s and the Kelvin sign for k, which no
 * ASCII spelling would find. Empty when no such piece exists (then nothing is pre-checked).
 */
export function caseSpellings(literal: string): string[] {
  const runs = literal.split(/[sSkK]/)
  const run = runs.reduce((best, r) => (r.length > best.length ? r : best), '')
  let piece = ''
  let letters = 0
  for (const ch of run) {
    const letter = ch.toLowerCase() !== ch.toUpperCase()
    if (letter && letters === 3) break
    piece += ch
    if (letter) letters++
  }
  if (piece === '') return []
  let spellings = ['']
  for (const ch of piece) {
    const lower = ch.toLowerCase()
    const upper = ch.toUpperCase()
    spellings =
      lower === upper ? spellings.map((s) => s + ch) : spellings.flatMap((s) => [s + lower, s + upper])
  }
  return spellings
}

/** The longest literal every match of `source` must contain, if one is known. */
export function requiredLiteral(source: string): string | undefined {
  return requiredLiterals(source)[0]
}

/**
 * Runs of plain characters every match of `source` must contain, longest first (conservative:
 * anything unsure ends a run or gives up). Runs shorter than 2 characters are left out: they
 * would rule out almost nothing.
 */
export function requiredLiterals(source: string): string[] {
  const runs: string[] = []
  let run = ''
  let depth = 0
  const flush = () => {
    if (run) runs.push(run)
    run = ''
  }
  const skipTo = (from: number, close: string) => {
    const end = source.indexOf(close, from)
    return end === -1 ? source.length : end
  }
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!
    if (c === '\\') {
      const next = source[i + 1]
      if (next === undefined) return []
      i++
      if (/[.*+?^${}()|[\]\\/\-#&~!%,:;<=>@`'"_ ]/.test(next)) {
        if (depth === 0) run += next
        continue
      }
      flush()
      if (next === 'x') i += 2
      else if (next === 'u') i = source[i + 1] === '{' ? skipTo(i, '}') : i + 4
      else if (next === 'c') i += 1
      else if ((next === 'p' || next === 'P') && source[i + 1] === '{') i = skipTo(i, '}')
      else if (next === 'k' && source[i + 1] === '<') i = skipTo(i, '>')
      else if (/\d/.test(next)) while (/\d/.test(source[i + 1] ?? '')) i++
      continue
    }
    if (c === '[') {
      flush()
      // A class: up to its closing bracket (a leading ] or ^] is literal inside it).
      let j = i + 1
      if (source[j] === '^') j++
      if (source[j] === ']') j++
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1
      i = j
      continue
    }
    if (c === '(') {
      flush()
      depth++
      continue
    }
    if (c === ')') {
      depth = Math.max(0, depth - 1)
      continue
    }
    if (c === '|') {
      if (depth === 0) return []
      continue
    }
    if (c === '*' || c === '?') {
      // The character before is optional.
      run = run.slice(0, -1)
      flush()
      continue
    }
    if (c === '{') {
      run = run.slice(0, -1)
      flush()
      i = skipTo(i, '}')
      continue
    }
    if (c === '+' || c === '.' || c === '^' || c === '$') {
      flush()
      continue
    }
    if (depth === 0) run += c
    else flush()
  }
  flush()
  // Stable: equally long runs keep their order.
  return runs.filter((r) => r.length >= 2).sort((a, b) => b.length - a.length)
}

/** Offsets where each line starts. */
function lineStarts(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return lo
}

export interface TextMatches {
  /** 0-based indices of the matching lines, ascending. */
  readonly lines: number[]
  /** Matching lines; in multiline mode, matches. */
  readonly count: number
}

const NONE: TextMatches = { lines: [], count: 0 }

function countNewlines(text: string, from: number, to: number): number {
  let n = 0
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

/**
 * The matching lines of a text. `firstOnly` stops at the first one (files_with_matches). The text
 * is never split: the global scan finds candidates, and each candidate's line is confirmed alone
 * (a scan match may run across a line break through \s or [^x], or lean on the next line in a
 * lookahead; line by line, as grep, neither counts).
 */
export function matchText(text: string, pattern: CompiledPattern, firstOnly = false): TextMatches {
  const { scan } = pattern
  scan.lastIndex = 0
  if (pattern.multiline) {
    let starts: number[] | undefined
    const found = new Set<number>()
    let count = 0
    for (let m = scan.exec(text); m; m = scan.exec(text)) {
      starts ??= lineStarts(text)
      count++
      const first = lineAt(starts, m.index)
      const last = lineAt(starts, m.index + Math.max(0, m[0].length - 1))
      for (let l = first; l <= last; l++) found.add(l)
      if (m[0].length === 0) scan.lastIndex++
      if (firstOnly) break
    }
    return count === 0 ? NONE : { lines: [...found].sort((a, b) => a - b), count }
  }
  const lines: number[] = []
  let line = 0
  let counted = 0
  for (let m = scan.exec(text); m; m = scan.exec(text)) {
    const start = m.index === 0 ? 0 : text.lastIndexOf('\n', m.index - 1) + 1
    let end = text.indexOf('\n', m.index)
    if (end === -1) end = text.length
    if (pattern.line.test(text.slice(start, end))) {
      line += countNewlines(text, counted, start)
      counted = start
      lines.push(line)
      if (firstOnly) break
    }
    if (end >= text.length) break
    scan.lastIndex = end + 1
  }
  return lines.length === 0 ? NONE : { lines, count: lines.length }
}
