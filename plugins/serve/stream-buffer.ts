/**
 * What a session's SSE stream is made of, and where a client resumes. Each item's SSE id is the
 * session's `seq` (the one sequence its events and log records share): `12` for the agent event
 * or log record with seq 12; `12.1`, `12.2` for what the server says between two seqs (a pending
 * question, a command's output, a subagent's event: none has a place in the session's own
 * sequence). A client resumes after any id it saw (`Last-Event-ID`, or `?after=`) and gets exactly
 * what came after it: from this buffer while it holds it, else from the log.
 */

export interface Position {
  readonly seq: number
  readonly sub: number
}

export interface StreamItem extends Position {
  /** The SSE `event:` name: `agent`, `record` (replayed from the log), or a controller event's type. */
  readonly event: string
  readonly data: unknown
}

export const START: Position = { seq: Number.NEGATIVE_INFINITY, sub: 0 }

export function after(a: Position, b: Position): boolean {
  return a.seq > b.seq || (a.seq === b.seq && a.sub > b.sub)
}

export function idOf(position: Position): string {
  return position.sub === 0 ? String(position.seq) : `${position.seq}.${position.sub}`
}

/** `12` or `12.3`; undefined when it is neither (the caller says what is wrong). */
export function parsePosition(text: string): Position | undefined {
  const match = /^(-?\d{1,15})(?:\.(\d{1,9}))?$/.exec(text.trim())
  if (!match) return undefined
  return { seq: Number(match[1]), sub: match[2] === undefined ? 0 : Number(match[2]) }
}

/** The items of one agent session emitted in this process, bounded; older ones come from the log. */
export class StreamBuffer {
  private items: StreamItem[] = []
  /** Every item with a seq above this is still here (the log holds the rest). */
  private coveredAfterSeq: number
  private seq: number
  private sub = 0

  constructor(
    lastSeq: number,
    private readonly limit: number,
  ) {
    this.coveredAfterSeq = lastSeq
    this.seq = lastSeq
  }

  /** The log's records up to this seq are not in the buffer: replay them from the log. */
  get coveredAfter(): number {
    return this.coveredAfterSeq
  }

  /** An agent event of the session itself: it takes its seq. */
  pushSeq(seq: number, event: string, data: unknown): StreamItem {
    this.seq = Math.max(this.seq, seq)
    this.sub = 0
    return this.push({ seq, sub: 0, event, data })
  }

  /** Anything else: placed after the last seq. */
  pushNote(event: string, data: unknown): StreamItem {
    this.sub += 1
    return this.push({ seq: this.seq, sub: this.sub, event, data })
  }

  private push(item: StreamItem): StreamItem {
    this.items.push(item)
    if (this.items.length > this.limit) {
      // Drop the oldest tenth at once (cheaper than one shift per item).
      const dropped = this.items.splice(0, Math.ceil(this.limit / 10))
      this.coveredAfterSeq = Math.max(this.coveredAfterSeq, dropped.at(-1)!.seq)
    }
    return item
  }

  /** The items after `position`, in order. */
  since(position: Position): StreamItem[] {
    return this.items.filter((item) => after(item, position))
  }
}
