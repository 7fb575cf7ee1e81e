/**
 * Matchers as Claude Code reads them: `*`, `''` or none match everything; a matcher of only
 * letters, digits, `_` and `|` is a list of exact names (`Edit|Write`); anything else is a
 * regular expression tested against the name (`Notebook.*`, `mcp__github__.*`), case-sensitive.
 */
export type Matcher = (value: string) => boolean

const EXACT = /^[A-Za-z0-9_|]+$/

/** Compiles a matcher; throws an Error with the reason when it is not a valid regular expression. */
export function compileMatcher(matcher: string | undefined): Matcher {
  if (matcher === undefined || matcher === '' || matcher === '*') return () => true
  if (EXACT.test(matcher)) {
    const names = new Set(matcher.split('|').filter((name) => name !== ''))
    return (value) => names.has(value)
  }
  const pattern = new RegExp(matcher)
  return (value) => pattern.test(value)
}
