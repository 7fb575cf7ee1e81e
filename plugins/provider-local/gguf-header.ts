/**
 * Reads a GGUF file's header and metadata (not its tensors) without node-llama-cpp, so a missing,
 * corrupt or foreign file gets a clear error before llama.cpp is loaded, and `tau models list`
 * and capabilities stay cheap. Arrays are skipped except for their length.
 */
import { type FileHandle, open } from 'node:fs/promises'

export interface GgufSummary {
  readonly version: number
  readonly tensorCount: number
  readonly architecture: string | undefined
  readonly name: string | undefined
  /** `<arch>.context_length`: the context the model was trained with. */
  readonly contextLength: number | undefined
  readonly hasChatTemplate: boolean
  /** Scalar and string values; arrays appear as their length. */
  readonly metadata: ReadonlyMap<string, string | number | bigint | boolean>
}

export class GgufFormatError extends Error {}

const MAGIC = 0x46554747 // "GGUF", little-endian
const SCALAR_SIZE: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
}
const MAX_STRING = 64 * 1024 * 1024

class Reader {
  private buffer = Buffer.alloc(0)
  private start = 0 // file offset of buffer[0]
  pos = 0
  private eof = false

  constructor(private readonly file: FileHandle) {}

  private async need(n: number): Promise<void> {
    while (this.pos + n > this.start + this.buffer.length) {
      if (this.eof) throw new GgufFormatError('the file ends inside its header (truncated?)')
      const end = this.start + this.buffer.length
      // A skipped array may have moved past what is buffered: read on from wherever pos is.
      const keep = this.pos < end ? this.buffer.subarray(this.pos - this.start) : Buffer.alloc(0)
      const from = Math.max(this.pos, end)
      const chunk = Buffer.alloc(Math.max(1 << 20, n))
      const { bytesRead } = await this.file.read(chunk, 0, chunk.length, from)
      if (bytesRead < chunk.length) this.eof = true
      this.start = this.pos
      this.buffer = Buffer.concat([keep, chunk.subarray(0, bytesRead)])
    }
  }

  async u32(): Promise<number> {
    await this.need(4)
    const v = this.buffer.readUInt32LE(this.pos - this.start)
    this.pos += 4
    return v
  }

  async u64(): Promise<bigint> {
    await this.need(8)
    const v = this.buffer.readBigUInt64LE(this.pos - this.start)
    this.pos += 8
    return v
  }

  async string(): Promise<string> {
    const length = Number(await this.u64())
    if (length > MAX_STRING) throw new GgufFormatError(`a string of ${length} bytes in the header (corrupt?)`)
    await this.need(length)
    const at = this.pos - this.start
    this.pos += length
    return this.buffer.toString('utf8', at, at + length)
  }

  async scalar(type: number): Promise<string | number | bigint | boolean> {
    const size = SCALAR_SIZE[type]
    if (type === 8) return this.string()
    if (size === undefined) throw new GgufFormatError(`unknown metadata value type ${type} (corrupt?)`)
    await this.need(size)
    const at = this.pos - this.start
    this.pos += size
    const b = this.buffer
    switch (type) {
      case 0:
        return b.readUInt8(at)
      case 1:
        return b.readInt8(at)
      case 2:
        return b.readUInt16LE(at)
      case 3:
        return b.readInt16LE(at)
      case 4:
        return b.readUInt32LE(at)
      case 5:
        return b.readInt32LE(at)
      case 6:
        return b.readFloatLE(at)
      case 7:
        return b.readUInt8(at) !== 0
      case 10:
        return b.readBigUInt64LE(at)
      case 11:
        return b.readBigInt64LE(at)
      default:
        return b.readDoubleLE(at)
    }
  }

  async skip(type: number, count: number): Promise<void> {
    const size = SCALAR_SIZE[type]
    if (type === 8) {
      for (let i = 0; i < count; i++) {
        const length = Number(await this.u64())
        if (length > MAX_STRING) throw new GgufFormatError('a string too long for a GGUF header (corrupt?)')
        this.pos += length
      }
      return
    }
    if (size === undefined) throw new GgufFormatError(`unknown array element type ${type} (corrupt?)`)
    this.pos += size * count
  }
}

/** Reads the header of `path`. Throws GgufFormatError for a file that is not GGUF; fs errors pass through. */
export async function readGgufSummary(path: string): Promise<GgufSummary> {
  const file = await open(path, 'r')
  try {
    const reader = new Reader(file)
    const magic = await reader.u32().catch(() => {
      throw new GgufFormatError('the file is empty or shorter than a GGUF header')
    })
    if (magic !== MAGIC)
      throw new GgufFormatError('it does not start with the GGUF magic bytes (not a GGUF file)')
    const version = await reader.u32()
    if (version < 2 || version > 3)
      throw new GgufFormatError(`GGUF version ${version} is not one llama.cpp reads (2 or 3)`)
    const tensorCount = Number(await reader.u64())
    const kvCount = Number(await reader.u64())
    if (kvCount > 1_000_000) throw new GgufFormatError(`${kvCount} metadata entries (corrupt?)`)
    const metadata = new Map<string, string | number | bigint | boolean>()
    for (let i = 0; i < kvCount; i++) {
      const key = await reader.string()
      const type = await reader.u32()
      if (type === 9) {
        const of = await reader.u32()
        const count = Number(await reader.u64())
        await reader.skip(of, count)
        metadata.set(key, count)
      } else metadata.set(key, await reader.scalar(type))
    }
    const architecture = metadata.get('general.architecture')
    const arch = typeof architecture === 'string' ? architecture : undefined
    const ctx = arch === undefined ? undefined : metadata.get(`${arch}.context_length`)
    const name = metadata.get('general.name')
    return {
      version,
      tensorCount,
      architecture: arch,
      name: typeof name === 'string' ? name : undefined,
      contextLength: typeof ctx === 'number' || typeof ctx === 'bigint' ? Number(ctx) : undefined,
      hasChatTemplate: metadata.has('tokenizer.chat_template'),
      metadata,
    }
  } finally {
    await file.close()
  }
}
