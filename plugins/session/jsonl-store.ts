/**
 * The default transcript store: `<dir>/<id>.jsonl`, one record a line. Reading tolerates a torn
 * last line (a warning) and throws on anything else that does not parse, naming the file and line.
 * Before appending to a file whose last line is torn, the torn bytes are cut off, so the next
 * record starts on its own line.
 *
 * Writing, and why a crash never corrupts a transcript:
 * - Each record is one write() call, made before append() resolves, so the loop never moves on
 *   with a record still in tau's memory. What write() has returned is the kernel's: a crash or a
 *   kill of the process (SIGKILL included) loses nothing appended, and tears at most the line being
 *   written at that instant: the torn last line the reader tolerates.
 * - With `fsync` on (the default), every record is fdatasync'd, and the next record of the
 *   session is written only once the previous one's sync has completed. So at any moment at most
 *   one record is written but not yet on the disk: a power loss or an OS crash can lose or tear
 *   that last record only, never one before it, and never leave a damaged line in the middle.
 *   The sync itself runs in the background while the loop goes on (it overlaps the tool run or
 *   the next model call); the next append, and close(), wait for it. A failed sync is reported by
 *   the next append or close(), never dropped.
 * - The difference with syncing before append() resolves: after a power loss, the last record can
 *   be missing although the step after it already happened (its tool ran, the next request went
 *   out), as the record being synced at that moment always could. A process crash loses nothing.
 */
import { fdatasync, writeSync } from 'node:fs'
import { type FileHandle, mkdir, open, readdir, readFile, stat, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { SESSION_ERRORS } from './errors.js'
import {
  recordProblem,
  type SessionSummary,
  type TranscriptRead,
  type TranscriptRecord,
  type TranscriptStore,
} from './transcript.js'

/** Session ids are file names: no separators, no dots at the start. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

export interface JsonlStoreOptions {
  /** fdatasync every record, the next record waiting for the previous one's sync (default true). */
  readonly fsync?: boolean
  /** The sync call (tests observe the order with it); default fdatasync(2) on the file. */
  readonly datasync?: (fd: number) => Promise<void>
}

const fdatasyncOf = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))

/** An open transcript: its handle and the sync of its last record. */
interface OpenTranscript {
  readonly handle: FileHandle
  /** Settles when the last written record is on disk; never rejects (see `failure`). */
  synced: Promise<void>
  failure: unknown
}

/** Parses JSONL text; a torn (unparseable, unterminated) last line is a warning, anything else throws. */
export function parseTranscript(text: string, file: string): TranscriptRead & { tornAt?: number } {
  const records: TranscriptRecord[] = []
  const warnings: string[] = []
  let tornAt: number | undefined
  let start = 0
  let line = 0
  while (start < text.length) {
    line++
    const end = text.indexOf('\n', start)
    const terminated = end !== -1
    const raw = text.slice(start, terminated ? end : text.length)
    const next = terminated ? end + 1 : text.length
    if (raw.trim() === '') {
      start = next
      continue
    }
    let value: unknown
    let problem: string | undefined
    try {
      value = JSON.parse(raw)
      problem = recordProblem(value)
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error)
    }
    if (problem !== undefined) {
      if (!terminated) {
        // The last write did not finish: the record is lost, the rest is sound.
        tornAt = start
        warnings.push(
          `${file}:${line}: the last line is incomplete (${raw.length} bytes, a write cut short); it was ignored`,
        )
        break
      }
      throw new TauError(SESSION_ERRORS.TAU_SESSION_CORRUPT, `${file}:${line}: ${problem}`, {
        plugin: 'session',
      })
    }
    records.push(value as TranscriptRecord)
    start = next
  }
  return { records, warnings, ...(tornAt === undefined ? {} : { tornAt }) }
}

export class JsonlTranscriptStore implements TranscriptStore {
  readonly kind = 'jsonl'
  private readonly fsync: boolean
  private readonly datasync: (fd: number) => Promise<void>
  private readonly handles = new Map<string, Promise<OpenTranscript>>()
  /** Appends of a session, one after another. */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(
    readonly dir: string,
    options: JsonlStoreOptions = {},
  ) {
    this.fsync = options.fsync ?? true
    this.datasync = options.datasync ?? fdatasyncOf
  }

  location(id: string): string {
    return join(this.dir, `${checkId(id)}.jsonl`)
  }

  append(id: string, records: readonly TranscriptRecord[]): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(() => this.write(id, records))
    this.queues.set(id, next)
    return next
  }

  private async write(id: string, records: readonly TranscriptRecord[]): Promise<void> {
    const file = await this.handle(id)
    for (const record of records) {
      // One write call per record: a crash tears at most this line.
      const line = Buffer.from(`${JSON.stringify(record)}\n`)
      if (this.fsync) {
        // The record before this one is on disk before this one is written (see the top).
        await file.synced
        if (file.failure !== undefined) throw file.failure
      }
      try {
        // Synchronous: a small append to the page cache costs less than a thread-pool round trip.
        for (let offset = 0; offset < line.length; )
          offset += writeSync(file.handle.fd, line, offset, line.length - offset)
      } catch (error) {
        // Reopen next time: opening cuts off whatever part of this line did get written. (The
        // sync of the record before settles first: it is on the handle being closed.)
        this.handles.delete(id)
        await file.synced
        await file.handle.close().catch(() => undefined)
        throw error
      }
      if (this.fsync) {
        file.synced = this.datasync(file.handle.fd).then(
          () => undefined,
          (error: unknown) => {
            file.failure = error
          },
        )
      }
    }
  }

  private handle(id: string): Promise<OpenTranscript> {
    let handle = this.handles.get(id)
    if (!handle) {
      handle = this.openForAppend(id).then((opened) => ({
        handle: opened,
        synced: Promise.resolve(),
        failure: undefined,
      }))
      this.handles.set(id, handle)
      handle.catch(() => this.handles.delete(id))
    }
    return handle
  }

  private async openForAppend(id: string): Promise<FileHandle> {
    const file = this.location(id)
    await mkdir(this.dir, { recursive: true })
    const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    if (existing !== undefined && existing !== '' && !existing.endsWith('\n')) {
      const parsed = parseTranscript(existing, file)
      if (parsed.tornAt !== undefined)
        await truncate(file, Buffer.byteLength(existing.slice(0, parsed.tornAt)))
      else {
        // A complete record without its newline: end the line before the next record.
        const handle = await open(file, 'a')
        await handle.write('\n')
        return handle
      }
    }
    return open(file, 'a')
  }

  async read(id: string): Promise<TranscriptRead> {
    const file = this.location(id)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TauError(SESSION_ERRORS.TAU_SESSION_NOT_FOUND, `no session ${id} (${file})`, {
          plugin: 'session',
        })
      }
      throw error
    }
    const { records, warnings } = parseTranscript(text, file)
    return { records, warnings }
  }

  async exists(id: string): Promise<boolean> {
    return stat(this.location(id)).then(
      () => true,
      () => false,
    )
  }

  async list(): Promise<SessionSummary[]> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[]
      throw error
    })
    const summaries: Array<SessionSummary & { mtimeMs: number }> = []
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue
      const id = name.slice(0, -'.jsonl'.length)
      if (!ID.test(id)) continue
      const file = join(this.dir, name)
      const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)])
      const { records, warnings } = parseTranscript(text, file)
      const meta = records[0]
      if (meta?.type !== 'meta') continue
      let turns = 0
      let messages = 0
      for (const record of records) {
        if (record.type !== 'message') continue
        messages++
        if (record.message.role === 'user') turns++
      }
      summaries.push({
        id: meta.id,
        startedAt: meta.startedAt,
        updatedAt: info.mtime.toISOString(),
        title: meta.title,
        model: meta.model,
        cwd: meta.cwd,
        turns,
        messages,
        ...(meta.parent ? { parent: meta.parent } : {}),
        ...(meta.subagentOf ? { subagentOf: meta.subagentOf } : {}),
        location: file,
        warnings,
        mtimeMs: info.mtimeMs,
      })
    }
    summaries.sort((a, b) => b.mtimeMs - a.mtimeMs || b.startedAt.localeCompare(a.startedAt))
    return summaries.map(({ mtimeMs: _, ...summary }) => summary)
  }

  /** Waits for the last record's sync, then closes the file; a failed sync is thrown here. */
  async close(id: string): Promise<void> {
    await this.queues.get(id)?.catch(() => undefined)
    this.queues.delete(id)
    const handle = this.handles.get(id)
    this.handles.delete(id)
    const file = handle ? await handle.catch(() => undefined) : undefined
    if (!file) return
    await file.synced
    await file.handle.close()
    if (file.failure !== undefined) throw file.failure
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.handles.keys()].map((id) => this.close(id)))
  }
}

function checkId(id: string): string {
  if (!ID.test(id)) {
    throw new TauError(SESSION_ERRORS.TAU_SESSION_BAD_ID, `'${id}' is not a session id`, {
      plugin: 'session',
    })
  }
  return id
}
