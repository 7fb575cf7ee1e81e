/**
 * Where a JSON text first goes wrong, as line and column: Node's JSON.parse messages do not
 * always give a position (Node 20: `Unexpected token ']', ..."x",]" is not valid JSON`).
 * Only called after JSON.parse has failed, so it only has to find the spot, not build values.
 */
export interface JsonSyntaxProblem {
  readonly line: number
  readonly column: number
  readonly message: string
}

class Stop extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message)
  }
}

export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  let i = 0
  const blank = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++
  }
  const fail = (what: string): never => {
    const found = i >= text.length ? 'the end of the file' : `'${text[i]}'`
    throw new Stop(i, `expected ${what}, found ${found}`)
  }
  const string = () => {
    if (text[i] !== '"') fail('a string in double quotes')
    i++
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++
      else if ((text.charCodeAt(i) as number) < 0x20) fail('no control characters in a string')
      i++
    }
    if (i >= text.length) fail("'\"' to close the string")
    i++
  }
  const value = (): void => {
    blank()
    const c = text[i]
    if (c === '{') {
      i++
      blank()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        blank()
        string()
        blank()
        if (text[i] !== ':') fail("':'")
        i++
        value()
        blank()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return
        }
        fail("',' or '}'")
      }
    }
    if (c === '[') {
      i++
      blank()
      if (text[i] === ']') {
        i++
        return
      }
      for (;;) {
        value()
        blank()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return
        }
        fail("',' or ']'")
      }
    }
    if (c === '"') {
      string()
      return
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i))
    if (literal) {
      i += literal[0].length
      return
    }
    fail('a value')
  }
  try {
    value()
    blank()
    if (i < text.length) fail('the end of the file')
    return undefined
  } catch (error) {
    if (!(error instanceof Stop)) throw error
    const before = text.slice(0, error.at)
    const line = before.split('\n').length
    const column = error.at - (before.lastIndexOf('\n') + 1) + 1
    return { line, column, message: error.message }
  }
}
