/**
 * A request body as JSON bytes, reusing what did not change since the last body. An agent sends
 * the whole conversation on every turn, and from one turn to the next only its end changes: the
 * system prompt, the tool definitions and every earlier message stay the same. Serialising and
 * encoding all of it again was the largest part of tau's own work per turn (docs/benchmarks.md,
 * issue 22).
 *
 * Each top-level field, and each item of the list field (`messages`), is compared by value with
 * a private copy of what it was in the previous body, and its bytes are reused when equal;
 * anything else is serialised again. The copy shares strings (immutable) and copies only plain
 * objects and arrays, so a value edited in place since is seen as changed. So the bytes are always
 * exactly those of `JSON.stringify(body)`, whatever changed and however; nothing here assumes
 * that a value is never edited. A value holding anything but plain data (a Date, an instance with
 * toJSON) is never reused.
 */

type Json = Record<string, unknown>

const OPEN = Buffer.from('{')
const CLOSE = Buffer.from('}')
const COMMA = Buffer.from(',')
const CLOSE_LIST = Buffer.from(']')

/** A serialised value and the copy it is compared with (undefined: not plain data, never reused). */
interface Encoded {
  readonly copy: unknown
  readonly plain: boolean
  /** The JSON; undefined where JSON.stringify leaves a field out. */
  readonly bytes: Buffer | undefined
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const NOT_PLAIN = Symbol('not plain data')

/**
 * The copy of a plain object: its keys in order (as Object.keys listed them) and their values'
 * copies. Comparing against it walks the value's keys with for-in and allocates nothing; the
 * Object.keys arrays of value and copy were most of what a turn's comparison allocated.
 */
class CopiedObject {
  constructor(
    readonly keys: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

/** A copy of plain data (strings shared), or NOT_PLAIN when it holds anything else. */
function copyOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint'
      ? NOT_PLAIN
      : value
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      const item = copyOf(value[i])
      if (item === NOT_PLAIN) return NOT_PLAIN
      out[i] = item
    }
    return out
  }
  if (!isPlain(value)) return NOT_PLAIN
  const keys = Object.keys(value)
  const values = new Array<unknown>(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const item = copyOf((value as Json)[keys[i]!])
    if (item === NOT_PLAIN) return NOT_PLAIN
    values[i] = item
  }
  return new CopiedObject(keys, values)
}

/**
 * Whether for-in over a plain object lists exactly its Object.keys: true unless something
 * enumerable was added to Object.prototype. Checked once per body; when false, nothing is reused.
 */
function forInListsOwnKeys(): boolean {
  for (const _ in Object.prototype) return false
  return true
}

/**
 * Whether a value equals a copy made by copyOf (keys in the same order: JSON keeps it). Only
 * meaningful while forInListsOwnKeys() holds.
 */
function sameAsCopy(value: unknown, copy: unknown): boolean {
  if (typeof value !== 'object' || value === null) return value === copy
  if (typeof copy !== 'object' || copy === null) return false
  if (Array.isArray(value)) {
    if (!Array.isArray(copy) || value.length !== copy.length) return false
    for (let i = 0; i < value.length; i++) if (!sameAsCopy(value[i], copy[i])) return false
    return true
  }
  if (!(copy instanceof CopiedObject) || !isPlain(value)) return false
  const { keys, values } = copy
  let i = 0
  for (const key in value) {
    if (i >= keys.length || key !== keys[i] || !sameAsCopy((value as Json)[key], values[i])) return false
    i++
  }
  return i === keys.length
}

function encoded(value: unknown, prefix: string): Encoded {
  const json = JSON.stringify(value)
  const copy = copyOf(value)
  return {
    copy,
    plain: copy !== NOT_PLAIN,
    bytes: json === undefined ? undefined : Buffer.from(`${prefix}${json}`),
  }
}

const reusable = (before: Encoded | undefined, value: unknown, trusted: boolean): before is Encoded =>
  trusted && before?.plain === true && sameAsCopy(value, before.copy)

/**
 * One per provider: it remembers the last body it encoded. Bodies of different conversations in
 * turn (several sessions on one provider) still come out exact; they only reuse less.
 */
export class BodyEncoder {
  private fields = new Map<string, Encoded>()
  private items: Encoded[] = []
  /** The last body's parts and bytes: a new body copies the run of parts they share in one go. */
  private lastParts: Buffer[] = []
  private lastBytes: Buffer = Buffer.alloc(0)
  /**
   * The part and item lists of the body before the last, written over by the next body: two lists
   * of each, in turn, instead of two new ones a body (each as long as the conversation, and the
   * part list grown push by push, was the encoder's largest allocation).
   */
  private spareParts: Buffer[] = []
  private spareItems: Encoded[] = []
  /** How many parts the body being built has so far (in spareParts). */
  private count = 0
  private readonly listKey: string
  private readonly listOpen: Buffer

  /** @param listKey the field that grows from body to body (the conversation). */
  constructor(listKey = 'messages') {
    this.listKey = listKey
    this.listOpen = Buffer.from(`${JSON.stringify(listKey)}:[`)
  }

  /** `Buffer.from(JSON.stringify(body))`, built from the parts of the last body that did not change. */
  encode(body: object): Buffer {
    this.count = 0
    this.part(OPEN)
    const fields = new Map<string, Encoded>()
    const trusted = forInListsOwnKeys()
    for (const key of Object.keys(body)) {
      const value = (body as Json)[key]
      if (key === this.listKey && Array.isArray(value)) {
        if (this.count > 1) this.part(COMMA)
        this.listParts(value, trusted)
        continue
      }
      const before = this.fields.get(key)
      const field = reusable(before, value, trusted) ? before : encoded(value, `${JSON.stringify(key)}:`)
      fields.set(key, field)
      if (field.bytes === undefined) continue
      if (this.count > 1) this.part(COMMA)
      this.part(field.bytes)
    }
    this.part(CLOSE)
    this.fields = fields
    const parts = this.spareParts
    // Shorter than the list it overwrote: drop the rest (no stale buffers held, none compared).
    if (parts.length > this.count) parts.length = this.count
    return this.join(parts)
  }

  /** Appends a part to the body being built. */
  private part(bytes: Buffer): void {
    this.spareParts[this.count++] = bytes
  }

  /**
   * `Buffer.concat(parts)`, with the parts the last body began with too (the same buffers, in the
   * same order: the system prompt, the tools, the conversation up to its new end) copied from the
   * last body's bytes in one copy rather than one copy a part. The last body's bytes are only
   * read, never written: the HTTP client may still hold them.
   */
  private join(parts: Buffer[]): Buffer {
    const last = this.lastParts
    let total = 0
    let shared = 0
    let sharedBytes = 0
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      total += part.length
      if (shared === i && last[i] === part) {
        shared++
        sharedBytes = total
      }
    }
    const out = Buffer.allocUnsafe(total)
    let offset = this.lastBytes.copy(out, 0, 0, sharedBytes)
    for (let i = shared; i < parts.length; i++) offset += parts[i]!.copy(out, offset)
    this.spareParts = this.lastParts
    this.lastParts = parts
    this.lastBytes = out
    return out
  }

  private listParts(list: readonly unknown[], trusted: boolean): void {
    this.part(this.listOpen)
    const items = this.spareItems
    const last = this.items
    for (let i = 0; i < list.length; i++) {
      const value = list[i]
      const before = last[i]
      let item = reusable(before, value, trusted) ? before : encoded(value, '')
      // JSON.stringify writes an array's undefined (or function) items as null.
      if (item.bytes === undefined) item = { ...item, bytes: NULL }
      items[i] = item
      if (i > 0) this.part(COMMA)
      this.part(item.bytes as Buffer)
    }
    if (items.length > list.length) items.length = list.length
    this.part(CLOSE_LIST)
    this.spareItems = last
    this.items = items
  }
}

const NULL = Buffer.from('null')
