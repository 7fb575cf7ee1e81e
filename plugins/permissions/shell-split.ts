/**
 * Splits a shell command into the simple commands it runs, so that Bash permission rules are
 * checked part by part: `a && b`, `a || b`, `a; b`, `a | b`, `a & b`, newlines, subshells
 * `( a; b )`, brace groups `{ a; }`, and the commands inside `$(...)`, backticks and `<(...)`.
 *
 * It is a tokenizer, not a shell: it respects quotes ('...', "...", $'...') and backslash
 * escapes, skips comments, and reads here-documents, but it does not expand anything. What it
 * cannot vouch for it flags: a part that contains a command substitution (`substitution`), or
 * one that is a compound construct (`complex`: for, case, function definitions), so that an
 * allow rule never covers more than the text it was written for.
 */

export interface ShellPart {
  /** The simple command: its words as written (quotes kept), joined by single spaces. */
  readonly text: string
  readonly words: readonly string[]
  /** Contains `$(...)`, backticks, `<(...)`/`>(...)`, `$((...))`, or feeds an expanding here-document. */
  readonly substitution: boolean
  /** A construct no rule can vouch for: `for`, `case`, `select`, a function definition, `a=(...)`. */
  readonly complex: boolean
  /** Files the part writes through redirections (`> out`, `>> log`, `&> all`), /dev/null and fd copies left out. */
  readonly writes: readonly string[]
}

export type SplitResult =
  | { readonly ok: true; readonly parts: readonly ShellPart[] }
  | { readonly ok: false; readonly error: string }

interface Command {
  words: string[]
  substitution: boolean
  complex: boolean
  /** Follows a subshell's `)`: only redirections of the group may come after it. */
  closesGroup: boolean
}

interface Heredoc {
  readonly delimiter: string
  readonly stripTabs: boolean
  readonly quoted: boolean
  readonly command: Command
}

class ShellSyntaxError extends Error {}

/** Leading words that introduce the command after them (or close a group) and are not commands. */
const LEADING_KEYWORDS = new Set([
  '!',
  '{',
  '}',
  'then',
  'else',
  'elif',
  'do',
  'if',
  'while',
  'until',
  'time',
  'fi',
  'done',
  'esac',
])

/** First words of constructs that a rule written for one command cannot cover. */
const COMPLEX_KEYWORDS = new Set(['for', 'case', 'select', 'function', 'coproc', 'in'])

/** Keywords that close a group; redirections after them apply to the whole group. */
const GROUP_CLOSERS = new Set(['}', 'fi', 'done', 'esac'])

const REDIRECT_OPERATOR = /^\d*(?:<|>|>>|<&|>&|&>|&>>|<>|>\|)$/
const REDIRECT_WITH_TARGET = /^\d*(?:<|>|>>|<&|>&|&>|&>>|<>|>\|)[^<>&|]/

const WRITE_REDIRECT = /^\d*(&>>|&>|>>|>\||>&|<>|>)(.*)$/
const HARMLESS_TARGET = /^(?:\/dev\/(?:null|stdout|stderr)|\d+-?|-)$/

/** The files a command's redirections write to. */
function writeTargets(words: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < words.length; i++) {
    const match = WRITE_REDIRECT.exec(words[i] as string)
    if (!match) continue
    let target = match[2] as string
    if (target === '') {
      target = words[i + 1] ?? ''
      i++
    }
    // `>&2`, `2>&1`, `>&-` copy or close descriptors; `>&file` writes the file.
    if (match[1] === '>&' && /^\d+-?$|^-$/.test(target)) continue
    if (target === '' || HARMLESS_TARGET.test(target)) continue
    out.push(target)
  }
  return out
}

function onlyRedirections(words: readonly string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    if (REDIRECT_OPERATOR.test(word)) {
      if (i + 1 >= words.length) return false
      i++
    } else if (!REDIRECT_WITH_TARGET.test(word)) return false
  }
  return true
}

const BLANK = new Set([' ', '\t'])
/** Characters that end an unquoted here-document delimiter. */
const DELIMITER_END = new Set([' ', '\t', '\n', ';', '|', '&', '<', '>', '(', ')'])

class Splitter {
  private i = 0
  readonly parts: ShellPart[] = []

  constructor(private readonly src: string) {}

  /** Parses a command list until `)` (when nested) or the end of the text. */
  parseList(nested: boolean): void {
    const src = this.src
    let command = newCommand()
    let word: string | null = null
    const pending: Heredoc[] = []
    const endWord = () => {
      if (word !== null) command.words.push(word)
      word = null
    }
    const endCommand = () => {
      endWord()
      this.finish(command)
      command = newCommand()
    }
    const append = (text: string) => {
      word = (word ?? '') + text
    }

    while (this.i < src.length) {
      const c = src[this.i] as string
      const next = src[this.i + 1]
      if (BLANK.has(c)) {
        endWord()
        this.i++
        continue
      }
      if (c === '\r' && next === '\n') {
        this.i++
        continue
      }
      if (c === '\n') {
        endCommand()
        this.i++
        if (pending.length > 0) this.readHeredocs(pending.splice(0))
        continue
      }
      if (c === '\\') {
        if (next === '\n') {
          // Line continuation: not a separator.
          this.i += 2
          continue
        }
        append(src.slice(this.i, this.i + 2))
        this.i += 2
        continue
      }
      if (c === "'") {
        append(this.readSingle())
        continue
      }
      if (c === '"') {
        append(this.readDouble(command))
        continue
      }
      if (c === '`') {
        append(this.readBacktick(command))
        continue
      }
      if (c === '$') {
        append(this.readDollar(command))
        continue
      }
      if (c === '#' && word === null) {
        // A comment runs to the end of the line.
        while (this.i < src.length && src[this.i] !== '\n') this.i++
        continue
      }
      if ((c === '<' || c === '>') && next === '(') {
        // Process substitution: its commands run too.
        const start = this.i
        this.i += 2
        this.parseList(true)
        command.substitution = true
        append(src.slice(start, this.i))
        continue
      }
      if (c === '<' && next === '<' && src[this.i + 2] !== '<') {
        endWord()
        command.words.push(this.readHeredocStart(command, pending))
        continue
      }
      if (c === '<' || c === '>') {
        // A redirection operator starts a word of its own (`a>b` is `a > b`), keeping a file
        // descriptor number before it and its target after it (`2>&1`, `>>log`, `<&3`, `>|f`).
        if (word !== null && !/^\d+$/.test(word)) endWord()
        let op = c
        this.i++
        while (this.i < src.length && '<>&|'.includes(src[this.i] as string) && op.length < 3) {
          if (src[this.i] === '|' && op !== '>') break
          op += src[this.i]
          this.i++
        }
        append(op)
        continue
      }
      if (c === '&') {
        if (next === '&') {
          endCommand()
          this.i += 2
        } else if (next === '>') {
          // `&>file`, `&>>file`: a redirection, not a separator.
          endWord()
          append(src[this.i + 2] === '>' ? '&>>' : '&>')
          this.i += src[this.i + 2] === '>' ? 3 : 2
        } else {
          endCommand()
          this.i++
        }
        continue
      }
      if (c === '|') {
        endCommand()
        this.i += next === '|' || next === '&' ? 2 : 1
        continue
      }
      if (c === ';') {
        if (next === ';' || next === '&') {
          // `;;`, `;&`, `;;&` end a case item.
          command.complex = true
          endCommand()
          this.i += src[this.i + 2] === '&' ? 3 : 2
          continue
        }
        endCommand()
        this.i++
        continue
      }
      if (c === '(') {
        if (word === null && command.words.length === 0) {
          // A subshell (or an arithmetic command): its commands are parts of their own.
          this.i++
          this.parseList(true)
          command.closesGroup = true
          continue
        }
        // `name()` (a function definition) or `a=(x y)` (an array): read through, flag it.
        const start = this.i
        this.i++
        this.parseList(true)
        command.complex = true
        append(src.slice(start, this.i))
        // `name() { body; }`: the body's commands are parts of their own.
        if (src.slice(start, this.i).replace(/\s/g, '') === '()') endCommand()
        continue
      }
      if (c === ')') {
        if (!nested) throw new ShellSyntaxError(`unexpected ')' at position ${this.i}`)
        endCommand()
        this.i++
        return
      }
      append(c)
      this.i++
    }
    if (nested) throw new ShellSyntaxError("a '(' is not closed")
    endCommand()
  }

  private finish(command: Command): void {
    let words = command.words
    let closesGroup = command.closesGroup
    while (words.length > 0 && LEADING_KEYWORDS.has(words[0] as string)) {
      if (GROUP_CLOSERS.has(words[0] as string)) closesGroup = true
      words = words.slice(1)
    }
    if (words.length === 0) return
    // `(a; b) > log`, `done < list`: the redirections belong to the group, whose commands are
    // parts already. A redirection standing alone, or one that writes a file, stays a part.
    const writes = writeTargets(words)
    if (closesGroup && !command.substitution && writes.length === 0 && onlyRedirections(words)) return
    const complex = command.complex || COMPLEX_KEYWORDS.has(words[0] as string)
    // Parts are values: a here-document read later flags its command through this getter.
    const part: ShellPart = {
      text: words.join(' '),
      words,
      get substitution() {
        return command.substitution
      },
      complex,
      writes,
    }
    this.parts.push(part)
  }

  private readSingle(): string {
    const end = this.src.indexOf("'", this.i + 1)
    if (end === -1) throw new ShellSyntaxError("a single quote (') is not closed")
    const text = this.src.slice(this.i, end + 1)
    this.i = end + 1
    return text
  }

  private readDouble(command: Command): string {
    const src = this.src
    const start = this.i
    this.i++
    while (this.i < src.length) {
      const c = src[this.i]
      if (c === '"') {
        this.i++
        return src.slice(start, this.i)
      }
      if (c === '\\') {
        this.i += 2
        continue
      }
      if (c === '$') {
        this.readDollar(command)
        continue
      }
      if (c === '`') {
        this.readBacktick(command)
        continue
      }
      this.i++
    }
    throw new ShellSyntaxError('a double quote (") is not closed')
  }

  /** At a `$`: command substitution, arithmetic, `${...}`, `$'...'`, `$"..."`, or a plain `$`. */
  private readDollar(command: Command): string {
    const src = this.src
    const start = this.i
    const next = src[this.i + 1]
    if (next === '(') {
      // `$(...)` and `$((...))` (the inner parentheses parse as a subshell): both run commands.
      this.i += 2
      this.parseList(true)
      command.substitution = true
      return src.slice(start, this.i)
    }
    if (next === '{') {
      this.i += 2
      let depth = 1
      while (this.i < src.length) {
        const c = src[this.i]
        if (c === '\\') this.i += 2
        else if (c === "'") this.readSingle()
        else if (c === '"') this.readDouble(command)
        else if (c === '`') this.readBacktick(command)
        else if (c === '$') this.readDollar(command)
        else if (c === '{') {
          depth++
          this.i++
        } else if (c === '}') {
          depth--
          this.i++
          if (depth === 0) return src.slice(start, this.i)
        } else this.i++
      }
      throw new ShellSyntaxError("a '${' is not closed")
    }
    if (next === "'") {
      // ANSI-C quoting: backslash escapes inside.
      this.i += 2
      while (this.i < src.length) {
        const c = src[this.i]
        if (c === '\\') this.i += 2
        else if (c === "'") {
          this.i++
          return src.slice(start, this.i)
        } else this.i++
      }
      throw new ShellSyntaxError("a $'...' quote is not closed")
    }
    if (next === '"') {
      this.i++
      return `$${this.readDouble(command)}`
    }
    this.i++
    return '$'
  }

  private readBacktick(command: Command): string {
    const src = this.src
    const start = this.i
    let j = this.i + 1
    let inner = ''
    while (j < src.length && src[j] !== '`') {
      if (src[j] === '\\' && j + 1 < src.length) {
        const escaped = src[j + 1] as string
        // Inside backticks, \` \\ and \$ stand for the character itself.
        inner += '`\\$'.includes(escaped) ? escaped : `\\${escaped}`
        j += 2
      } else {
        inner += src[j]
        j++
      }
    }
    if (j >= src.length) throw new ShellSyntaxError('a backtick (`) is not closed')
    const nested = new Splitter(inner)
    nested.parseList(false)
    this.parts.push(...nested.parts)
    command.substitution = true
    this.i = j + 1
    return src.slice(start, this.i)
  }

  /** At `<<` or `<<-`: reads the delimiter; the body is read at the next newline. */
  private readHeredocStart(command: Command, pending: Heredoc[]): string {
    const src = this.src
    const start = this.i
    this.i += 2
    const stripTabs = src[this.i] === '-'
    if (stripTabs) this.i++
    while (BLANK.has(src[this.i] as string)) this.i++
    let delimiter = ''
    let quoted = false
    while (this.i < src.length && !DELIMITER_END.has(src[this.i] as string)) {
      const c = src[this.i] as string
      if (c === "'" || c === '"') {
        const end = src.indexOf(c, this.i + 1)
        if (end === -1) throw new ShellSyntaxError('a here-document delimiter quote is not closed')
        delimiter += src.slice(this.i + 1, end)
        quoted = true
        this.i = end + 1
      } else if (c === '\\') {
        delimiter += src[this.i + 1] ?? ''
        quoted = true
        this.i += 2
      } else {
        delimiter += c
        this.i++
      }
    }
    if (delimiter === '') throw new ShellSyntaxError('a here-document (<<) has no delimiter')
    pending.push({ delimiter, stripTabs, quoted, command })
    return src.slice(start, this.i)
  }

  /** Reads here-document bodies (after the newline that ends their command line). */
  private readHeredocs(heredocs: readonly Heredoc[]): void {
    const src = this.src
    for (const heredoc of heredocs) {
      while (this.i < src.length) {
        const newline = src.indexOf('\n', this.i)
        const end = newline === -1 ? src.length : newline
        const line = src.slice(this.i, end).replace(/\r$/, '')
        this.i = newline === -1 ? src.length : newline + 1
        if ((heredoc.stripTabs ? line.replace(/^\t+/, '') : line) === heredoc.delimiter) break
        // An unquoted body is expanded by the shell: a substitution in it runs a command.
        if (!heredoc.quoted && /\$\(|`/.test(line)) heredoc.command.substitution = true
      }
    }
  }
}

function newCommand(): Command {
  return { words: [], substitution: false, complex: false, closesGroup: false }
}

/** Splits `command` into its simple commands; `ok: false` when it is not valid shell syntax. */
export function splitShellCommand(command: string): SplitResult {
  const splitter = new Splitter(command)
  try {
    splitter.parseList(false)
  } catch (error) {
    if (error instanceof ShellSyntaxError) return { ok: false, error: error.message }
    throw error
  }
  return { ok: true, parts: splitter.parts }
}
