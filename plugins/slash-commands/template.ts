/**
 * The text side of slash commands: splitting `/name rest` off a line, the words of the rest
 * (quotes group words, as a shell does), and filling a Markdown command's template.
 */

/** Splits `/name rest of line` into the name and the rest; undefined when not a slash command. */
export function parseSlash(line: string): { name: string; args: string } | undefined {
  const match = /^\/([A-Za-z0-9][A-Za-z0-9_.:-]*)(?:\s+([\s\S]*))?$/.exec(line.trim())
  if (!match) return undefined
  return { name: match[1]!, args: match[2] ?? '' }
}

/**
 * The words of an argument text: white space separates them, `"..."` and `'...'` keep spaces
 * inside one word, a backslash escapes the next character outside single quotes.
 */
export function splitArguments(text: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quote) {
      if (ch === quote) quote = undefined
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]
      else word += ch
      continue
    }
    if (ch === '"' || ch === "'") {
      quote = ch
      inWord = true
    } else if (ch === '\\' && i + 1 < text.length) {
      word += text[++i]
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += ch
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

/**
 * Fills a command template: `$ARGUMENTS` is the whole argument text, `$1`..`$9` its words.
 * Arguments a template has no place for are appended, so nothing the user typed is lost.
 */
export function expandTemplate(template: string, args: string): string {
  const rest = args.trim()
  const words = rest === '' ? [] : splitArguments(rest)
  let text = template.replaceAll('$ARGUMENTS', rest)
  text = text.replace(/\$([1-9])(?![0-9])/g, (_, n: string) => words[Number(n) - 1] ?? '')
  if (!template.includes('$ARGUMENTS') && rest !== '' && !/\$[1-9]/.test(template))
    text = `${text}\n\nARGUMENTS: ${rest}`
  return text
}
