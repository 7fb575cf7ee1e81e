/**
 * Unified diffs of two texts, line by line, for frontends to show what Write and Edit changed.
 * Myers' algorithm on the lines between the common head and tail; a change too large for it
 * (more than MAX_EDITS differing lines, or a trace too large to keep) is shown as one block
 * removed and one added.
 */
import { splitLines } from './text-file.js'

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string }

const MAX_EDITS = 4000
const MAX_TRACE_CELLS = 8_000_000

function myers(a: readonly string[], b: readonly string[]): Op[] | undefined {
  const n = a.length
  const m = b.length
  const max = n + m
  const offset = max + 1
  let v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  // The trace keeps one array per step: bound its memory (about 32 MB) as well as the steps.
  const steps = Math.min(max, MAX_EDITS, Math.floor(MAX_TRACE_CELLS / v.length))
  for (let d = 0; d <= steps; d++) {
    trace.push(v.slice())
    const next = v.slice()
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1
      let y = x - k
      while (x < n && y < m && a[x] === b[y]) {
        x++
        y++
      }
      next[offset + k] = x
      if (x >= n && y >= m) {
        trace.push(next)
        return backtrack(a, b, trace, offset)
      }
    }
    v = next
  }
  return undefined
}

function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[], offset: number): Op[] {
  const ops: Op[] = []
  let x = a.length
  let y = b.length
  for (let d = trace.length - 2; d >= 0; d--) {
    const v = trace[d]!
    const k = x - y
    const prevK = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? k + 1 : k - 1
    const prevX = v[offset + prevK]!
    const prevY = prevX - prevK
    while (x > prevX && y > prevY) {
      ops.push({ kind: ' ', line: a[--x]! })
      y--
    }
    if (d > 0) {
      if (x === prevX) ops.push({ kind: '+', line: b[--y]! })
      else ops.push({ kind: '-', line: a[--x]! })
    }
  }
  return ops.reverse()
}

function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++
  const midA = a.slice(head, a.length - tail)
  const midB = b.slice(head, b.length - tail)
  const middle = myers(midA, midB) ?? [
    ...midA.map((line) => ({ kind: '-' as const, line })),
    ...midB.map((line) => ({ kind: '+' as const, line })),
  ]
  return [
    ...a.slice(0, head).map((line) => ({ kind: ' ' as const, line })),
    ...middle,
    ...a.slice(a.length - tail).map((line) => ({ kind: ' ' as const, line })),
  ]
}

export interface DiffStats {
  readonly added: number
  readonly removed: number
}

/** `--- a/path` / `+++ b/path` and hunks with `context` lines around each change; '' when equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  path: string,
  context = 3,
): { diff: string } & DiffStats {
  const ops = diffLines(splitLines(oldText), splitLines(newText))
  const added = ops.filter((op) => op.kind === '+').length
  const removed = ops.filter((op) => op.kind === '-').length
  if (added === 0 && removed === 0) return { diff: '', added, removed }
  const out = [`--- a/${path}`, `+++ b/${path}`]
  let i = 0
  while (i < ops.length) {
    if (ops[i]!.kind === ' ') {
      i++
      continue
    }
    // A hunk: from `context` lines before this change to `context` after the last change that
    // is at most 2 * context lines from the previous one.
    const start = Math.max(0, i - context)
    let end = i
    let last = i
    while (end < ops.length) {
      if (ops[end]!.kind !== ' ') last = end
      else if (end - last > 2 * context) break
      end++
    }
    const stop = Math.min(ops.length, last + context + 1)
    let oldLine = 1
    let newLine = 1
    for (let j = 0; j < start; j++) {
      if (ops[j]!.kind !== '+') oldLine++
      if (ops[j]!.kind !== '-') newLine++
    }
    const body = ops.slice(start, stop)
    const oldCount = body.filter((op) => op.kind !== '+').length
    const newCount = body.filter((op) => op.kind !== '-').length
    out.push(
      `@@ -${oldCount === 0 ? oldLine - 1 : oldLine},${oldCount} +${newCount === 0 ? newLine - 1 : newLine},${newCount} @@`,
    )
    for (const op of body) out.push(`${op.kind}${op.line}`)
    i = stop
  }
  return { diff: `${out.join('\n')}\n`, added, removed }
}
