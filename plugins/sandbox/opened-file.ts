/**
 * A file opened once for reading (Environment.openFile): its stat and its bytes come from the one
 * open file. Read used to resolve the path twice (stat, then readFile: two realpath calls, each a
 * trip through the thread pool) and could, in between, be handed another file than the one it
 * checked; opened once, it cannot.
 */
import { existsSync, constants as fsConstants, readlinkSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import type { FileStat, OpenedFile } from './environment.js'

/**
 * Read-only; not through a link put at the last component since the path was resolved
 * (O_NOFOLLOW); a FIFO does not block the open (O_NONBLOCK, no effect on regular files) and a
 * terminal does not become tau's (O_NOCTTY).
 */
export const OPEN_FOR_READ =
  fsConstants.O_RDONLY |
  (fsConstants.O_NOFOLLOW ?? 0) |
  (fsConstants.O_NONBLOCK ?? 0) |
  (fsConstants.O_NOCTTY ?? 0)

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd')

/**
 * Where an open file really is (Linux: /proc/self/fd/N, what the kernel opened, so a directory
 * on the path swapped for a link after the path was resolved shows here); undefined elsewhere.
 */
export function openedPath(handle: FileHandle): string | undefined {
  if (!PROC_FD) return undefined
  try {
    return readlinkSync(`/proc/self/fd/${handle.fd}`)
  } catch {
    return undefined
  }
}

export class LocalOpenedFile implements OpenedFile {
  private readonly handle: FileHandle
  readonly stat: FileStat
  private closed = false

  constructor(handle: FileHandle, stat: FileStat) {
    this.handle = handle
    this.stat = stat
  }

  /** The bytes, read at the size the open file has (one read for a file of any usual size). */
  async read(): Promise<Buffer> {
    const size = this.stat.size
    // Files whose size says nothing (procfs and the like) are read to their end.
    if (this.stat.type !== 'file' || size === 0) return this.handle.readFile()
    const data = Buffer.allocUnsafe(size)
    let filled = 0
    while (filled < size) {
      const { bytesRead } = await this.handle.read(data, filled, size - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled === size ? data : data.subarray(0, filled)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.handle.close()
  }
}
