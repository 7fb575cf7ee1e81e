/**
 * A file opened once for reading (Environment.openFile): its stat and its bytes come from the one
 * open file. Read used to resolve the path twice (stat, then readFile: two realpath calls, each a
 * trip through the thread pool) and could, in between, be handed another file than the one it
 * checked; opened once, it cannot.
 */
import {
  closeSync,
  existsSync,
  constants as fsConstants,
  read,
  readFile,
  readlinkSync,
  readSync,
} from 'node:fs'
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

/**
 * Files up to this size are read synchronously: from the page cache that is a copy, cheaper than
 * the thread pool's round trip (which on a loaded machine took 0.2 to 2 ms); larger ones are read
 * through the pool so a big file does not hold the event loop.
 */
export const SYNC_READ_MAX_BYTES = 256 * 1024

const PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd')

/**
 * Where an open file really is (Linux: /proc/self/fd/N, what the kernel opened, so a directory
 * on the path swapped for a link after the path was resolved shows here); undefined elsewhere.
 */
export function openedPath(fd: number): string | undefined {
  if (!PROC_FD) return undefined
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return undefined
  }
}

const readAt = (
  fd: number,
  into: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> =>
  new Promise((resolve, reject) =>
    read(fd, into, offset, length, position, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    ),
  )

/** An open file descriptor read by Read (Environment.openFile); close() it when done. */
export class LocalOpenedFile implements OpenedFile {
  private readonly fd: number
  readonly stat: FileStat
  private closed = false

  constructor(fd: number, stat: FileStat) {
    this.fd = fd
    this.stat = stat
  }

  /** The bytes, read at the size the open file has (one read for a file of any usual size). */
  async read(): Promise<Buffer> {
    const size = this.stat.size
    // Files whose size says nothing (procfs and the like) are read to their end.
    if (this.stat.type !== 'file' || size === 0) {
      return new Promise((resolve, reject) =>
        readFile(this.fd, (error, data) => (error ? reject(error) : resolve(data))),
      )
    }
    const data = Buffer.allocUnsafe(size)
    const sync = size <= SYNC_READ_MAX_BYTES
    let filled = 0
    while (filled < size) {
      const bytesRead = sync
        ? readSync(this.fd, data, filled, size - filled, filled)
        : await readAt(this.fd, data, filled, size - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled === size ? data : data.subarray(0, filled)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    closeSync(this.fd)
  }
}
