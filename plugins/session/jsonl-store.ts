/**
 * The default transcript store: `<dir>/<id>.jsonl`, one record a line. Reading tolerates a torn
 * last line (a warning) and throws on anything else that does not parse, naming the file and line.
 * Before appending to a file whose last line is torn, the torn bytes are cut off, so the next
 * record starts on its own line. One writer per session: its lease is a lock file (jsonl-lease.ts).
 *
 * Writing, and why a crash never corrupts a transcript:
 * - The records of one append() are one write() call (in `record` durability, one call per
 *   record), made before append() resolves, so the loop never moves on with a record still in
 *   tau's memory. What write() has returned is the kernel's: a crash or a kill of the process
 *   (SIGKILL included) loses nothing appended, and tears at most the line being written at that
 *   instant (a write cut short leaves the lines before it whole): the torn last line the reader
 *   tolerates.
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
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  truncate,
  unlink,
} from 'node:fs/promises'
import { join } from 'node:path'
import { TauError } from '../../kernel/index.js'
import { SESSION_ERRORS } from './errors.js'
import { type JsonlLease, lockedError, takeLease } from './jsonl-lease.js'
import {
  recordProblem,
  type SessionSummary,
  type TranscriptLease,
  type TranscriptRead,
  type TranscriptRecord,
  type TranscriptStore,
} from './transcript.js'

export { LEASE_TTL_MS } from './jsonl-lease.js'

/**
 * When records reach the disk. `turn`: one fdatasync per turn (sync()), in the background while
 * the loop goes on; `record`: every record, the next one written once the previous one's sync
 * completed; `off`: never (the OS writes back when it likes). In every mode each record is
 * written to the file before append() resolves, so a crash or kill of the process loses nothing.
 */
export type Durability = 'turn' | 'record' | 'off'

/** Session ids are file names: no separators, no dots at the start. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

export interface JsonlStoreOptions {
  /** Default `turn` (see Durability). */
  readonly durability?: Durability
  /**
   * Where transcripts were kept before (`<project>/.tau/sessions`): its transcripts are moved
   * into `dir` at the store's first use, and `onMoved` is told once.
   */
  readonly legacyDir?: string
  readonly onMoved?: (notice: string) => void
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
  readonly durability: Durability
  private readonly fsync: boolean
  private readonly datasync: (fd: number) => Promise<void>
  private readonly legacyDir: string | undefined
  private readonly onMoved: ((notice: string) => void) | undefined
  private migrated: Promise<void> | undefined
  /** Leases this store holds, by session id. */
  private readonly leases = new Map<string, JsonlLease>()
  private readonly handles = new Map<string, Promise<OpenTranscript>>()
  /** Appends of a session, one after another. */
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor(
    readonly dir: string,
    options: JsonlStoreOptions = {},
  ) {
    this.durability = options.durability ?? 'turn'
    this.fsync = this.durability === 'record'
    this.datasync = options.datasync ?? fdatasyncOf
    this.legacyDir = options.legacyDir
    this.onMoved = options.onMoved
  }

  /** Moves the transcripts of the old location in, once, before the first use. */
  private ready(): Promise<void> {
    this.migrated ??= this.migrate()
    return this.migrated
  }

  private async migrate(): Promise<void> {
    const legacy = this.legacyDir
    if (legacy === undefined || legacy === this.dir) return
    const names = await readdir(legacy).catch(() => [] as string[])
    const files = names.filter((name) => name.endsWith('.jsonl') && ID.test(name.slice(0, -6)))
    if (files.length === 0) return
    await mkdir(this.dir, { recursive: true })
    let moved = 0
    for (const name of files) {
      const to = join(this.dir, name)
      if (await exists(to)) continue
      const from = join(legacy, name)
      try {
        await rename(from, to)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error
        await copyFile(from, to)
        await unlink(from)
      }
      moved++
    }
    await rmdir(legacy).catch(() => undefined)
    if (moved > 0) {
      this.onMoved?.(
        `moved ${moved} session transcript${moved === 1 ? '' : 's'} from ${legacy} to ${this.dir} (tau keeps its own files outside the workspace, where search tools and git do not see them)`,
      )
    }
  }

  private lockFile(id: string): string {
    return join(this.dir, `${checkId(id)}.lock`)
  }

  async acquire(id: string): Promise<TranscriptLease> {
    const file = this.lockFile(id)
    await this.ready()
    const held = this.leases.get(id)
    if (held) throw lockedError(id, file, held.holder, 'this process')
    await mkdir(this.dir, { recursive: true })
    return takeLease(id, file, this.leases)
  }

  async sync(id: string): Promise<void> {
    if (this.durability !== 'turn') return
    const previous = this.queues.get(id) ?? Promise.resolve()
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const opened = this.handles.get(id)
        const file = opened ? await opened.catch(() => undefined) : undefined
        if (!file) return
        // Overlapped: the loop goes on; the next sync and close() wait for this one.
        const before = file.synced
        file.synced = before.then(() =>
          this.datasync(file.handle.fd).then(
            () => undefined,
            (error: unknown) => {
              file.failure = error
            },
          ),
        )
      })
    this.queues.set(id, next)
    return next
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
    if (!this.fsync) {
      // The batch's lines in one write call (the permission decision and the tool intent of a
      // call come together, say): a crash tears at most the line being written.
      if (records.length === 0) return
      let text = ''
      for (const record of records) text += `${JSON.stringify(record)}\n`
      return this.writeLines(id, file, Buffer.from(text))
    }
    for (const record of records) {
      // The record before this one is on disk before this one is written (see the top).
      await file.synced
      await this.writeLines(id, file, Buffer.from(`${JSON.stringify(record)}\n`))
      file.synced = this.datasync(file.handle.fd).then(
        () => undefined,
        (error: unknown) => {
          file.failure = error
        },
      )
    }
  }

  /** Whole lines at the end of the file, with one write call as long as the kernel takes them all. */
  private async writeLines(id: string, file: OpenTranscript, lines: Buffer): Promise<void> {
    if (file.failure !== undefined) throw file.failure
    try {
      // Synchronous: a small append to the page cache costs less than a thread-pool round trip.
      for (let offset = 0; offset < lines.length; )
        offset += writeSync(file.handle.fd, lines, offset, lines.length - offset)
    } catch (error) {
      // Reopen next time: opening cuts off whatever part of a line did get written. (The sync of
      // the record before settles first: it is on the handle being closed.)
      this.handles.delete(id)
      await file.synced
      await file.handle.close().catch(() => undefined)
      throw error
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
    await this.ready()
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
    await this.ready()
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
    await this.ready()
    return stat(this.location(id)).then(
      () => true,
      () => false,
    )
  }

  async list(): Promise<SessionSummary[]> {
    await this.ready()
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[]
      throw error
    })
    const summaries: Array<SessionSummary & { mtimeMs: number }> = []
    for (const name of names) {
      if (!name.endsWith('.jsonl')) continue
      const id = name.slice(0, -'.jsonl'.length)
      if (!ID.test(id)) continue
      const summary = await this.summaryOf(join(this.dir, name))
      if (summary) summaries.push(summary)
    }
    summaries.sort((a, b) => b.mtimeMs - a.mtimeMs || b.startedAt.localeCompare(a.startedAt))
    return summaries.map(({ mtimeMs: _, ...summary }) => summary)
  }

  async summary(id: string): Promise<SessionSummary | undefined> {
    await this.ready()
    if (!ID.test(id)) return undefined
    const found = await this.summaryOf(this.location(id)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    })
    if (!found) return undefined
    const { mtimeMs: _, ...summary } = found
    return summary
  }

  /** One transcript file's summary (undefined without a meta record first). */
  private async summaryOf(file: string): Promise<(SessionSummary & { mtimeMs: number }) | undefined> {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)])
    const { records, warnings } = parseTranscript(text, file)
    const meta = records[0]
    if (meta?.type !== 'meta') return undefined
    let turns = 0
    let messages = 0
    for (const record of records) {
      if (record.type !== 'message') continue
      messages++
      if (record.message.role === 'user') turns++
    }
    return {
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
    }
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
    await Promise.all([...this.leases.values()].map((lease) => lease.release()))
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  )
}

function checkId(id: string): string {
  if (!ID.test(id)) {
    throw new TauError(SESSION_ERRORS.TAU_SESSION_BAD_ID, `'${id}' is not a session id`, {
      plugin: 'session',
    })
  }
  return id
}
