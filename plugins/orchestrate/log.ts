/**
 * The workflow log: one append-only JSONL file per workflow run under
 * `$TAU_HOME/projects/<project-key>/workflows/<run-id>.jsonl` (tau's bookkeeping stays out of the
 * workspace). It is the run's single source of truth: `tau workflow show` reads it, a resume
 * rebuilds the checkpoints and the state from it. Each record is one write() before append()
 * resolves, so a kill -9 loses nothing appended and tears at most the last line, which reading
 * tolerates (and the next append cuts off). What reaches the disk itself (a power loss, an OS
 * crash) is `orchestrate.durability`'s: `step` fdatasyncs each step's end overlapped with the run
 * (the run waits only at its close), `sync` waits for each, `off` leaves it to the OS.
 * One process writes a run at a time: a lock file holds the writer's pid.
 */
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs'
import { mkdir, readdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TauError, type Usage } from '../../kernel/index.js'
import { ORCHESTRATE_ERRORS } from './errors.js'
import type { StepKind, StepOutcome } from './step-runner.js'

interface Stamp {
  readonly seq: number
  /** ms since the epoch. */
  readonly time: number
}

export type WorkflowRecordBody =
  | {
      readonly type: 'start'
      readonly runId: string
      readonly workflow: string
      readonly input: unknown
      readonly cwd: string
      /** The file the workflow was defined in, when it came from `.tau/workflows/`. */
      readonly file?: string
    }
  /** A process took the run up again (`tau workflow resume`). */
  | { readonly type: 'resume'; readonly pid: number }
  | { readonly type: 'step-start'; readonly step: string; readonly kind: StepKind; readonly input: unknown }
  | { readonly type: 'step-session'; readonly step: string; readonly sessionId: string }
  | { readonly type: 'step-end'; readonly step: string; readonly outcome: StepOutcome }
  | {
      readonly type: 'step-failed'
      readonly step: string
      readonly error: { readonly code: string; readonly message: string }
    }
  | {
      readonly type: 'end'
      readonly status: 'completed' | 'failed'
      readonly output?: unknown
      readonly error?: { readonly code: string; readonly message: string }
      readonly usage: Usage
      readonly costUsd?: number
    }

export type WorkflowRecord = Stamp & WorkflowRecordBody

export interface WorkflowRunSummary {
  readonly runId: string
  readonly workflow: string
  readonly status: 'completed' | 'failed' | 'interrupted'
  readonly startedAt: number
  readonly updatedAt: number
  readonly steps: number
}

export interface WorkflowLog {
  readonly runId: string
  readonly file: string
  /**
   * Writes the record (one write(): it survives a kill of the process once this resolves).
   * `sync`: the record must reach the disk too, as the store's durability says (see Durability).
   */
  append(record: WorkflowRecordBody, options?: { sync?: boolean }): Promise<void>
  /** Waits for a sync in flight, then releases the writer's lock. Idempotent. */
  close(): Promise<void>
}

/**
 * When records appended with `sync` reach the disk. `step`: an fdatasync is started and the run
 * goes on (overlapped; one in flight at a time, the next covering everything written meanwhile);
 * close() waits for it. `sync`: append() resolves once its fdatasync has. `off`: never synced.
 */
export type Durability = 'step' | 'sync' | 'off'

const fdatasyncOf = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())))

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

export interface WorkflowStoreOptions {
  /** Default `step`. */
  readonly durability?: Durability
  /** The fdatasync (tests hold it to see what waits for it). */
  readonly datasync?: (fd: number) => Promise<void>
}

export class WorkflowStore {
  constructor(
    readonly dir: string,
    private readonly options: WorkflowStoreOptions = {},
  ) {}

  fileOf(runId: string): string {
    if (!ID.test(runId))
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_RUN_NOT_FOUND,
        `'${runId}' is not a workflow run id`,
        {
          plugin: 'orchestrate',
        },
      )
    return join(this.dir, `${runId}.jsonl`)
  }

  /** Starts the log of a new run (its first record is `start`). */
  async create(start: Extract<WorkflowRecordBody, { type: 'start' }>): Promise<WorkflowLog> {
    await mkdir(this.dir, { recursive: true })
    const log = await this.openLog(start.runId, -1)
    await log.append(start, { sync: true })
    return log
  }

  /** Reads a run's records (a torn last line is left out). Throws TAU_WORKFLOW_RUN_NOT_FOUND. */
  async read(runId: string): Promise<WorkflowRecord[]> {
    const file = this.fileOf(runId)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch {
      throw new TauError(
        ORCHESTRATE_ERRORS.TAU_WORKFLOW_RUN_NOT_FOUND,
        `there is no workflow run '${runId}'`,
        {
          plugin: 'orchestrate',
          hint: 'List the runs of this project with `tau workflow list`.',
        },
      )
    }
    return parseLog(text, file).records
  }

  /** Opens an existing run to go on writing it; takes its lock (TAU_WORKFLOW_LOCKED when held). */
  async reopen(runId: string): Promise<{ records: WorkflowRecord[]; log: WorkflowLog }> {
    const file = this.fileOf(runId)
    await this.read(runId)
    const log = await this.openLog(runId, 0)
    // Read again under the lock; cut a torn last line so the next record starts on its own line.
    const { records, validBytes, totalBytes } = parseLog(await readFile(file, 'utf8'), file)
    if (validBytes < totalBytes) await truncate(file, validBytes)
    ;(log as FileLog).seq = records.at(-1)?.seq ?? 0
    return { records, log }
  }

  async list(): Promise<WorkflowRunSummary[]> {
    let names: string[]
    try {
      names = (await readdir(this.dir)).filter((name) => name.endsWith('.jsonl'))
    } catch {
      return []
    }
    const out: WorkflowRunSummary[] = []
    for (const name of names) {
      const file = join(this.dir, name)
      try {
        const { records } = parseLog(await readFile(file, 'utf8'), file)
        const start = records[0]
        if (start?.type !== 'start') continue
        const last = records.at(-1)!
        // A run whose last record is not its end was stopped mid-way (a kill, a crash).
        const status = last.type === 'end' ? last.status : 'interrupted'
        out.push({
          runId: start.runId,
          workflow: start.workflow,
          status,
          startedAt: start.time,
          updatedAt: (await stat(file)).mtimeMs,
          steps: records.filter((r) => r.type === 'step-end').length,
        })
      } catch {
        // An unreadable log is listed by `show`, which says what is wrong with it.
      }
    }
    return out.sort((a, b) => b.startedAt - a.startedAt)
  }

  private async openLog(runId: string, seq: number): Promise<WorkflowLog> {
    const lock = join(this.dir, `${runId}.lock`)
    await takeLock(lock, runId)
    const log = new FileLog(runId, this.fileOf(runId), lock, {
      durability: this.options.durability ?? 'step',
      datasync: this.options.datasync ?? fdatasyncOf,
    })
    log.seq = seq
    return log
  }
}

class FileLog implements WorkflowLog {
  seq = -1
  private fd: number | undefined
  private closed = false
  /** The overlapped fdatasync in flight (durability `step`). */
  private syncing: Promise<void> | undefined
  /** Another sync was asked for while one ran: it runs next, covering every write before it. */
  private again = false
  /** A sync that failed after the run went on: the next append and close() throw it. */
  private failure: unknown

  constructor(
    readonly runId: string,
    readonly file: string,
    private readonly lock: string,
    private readonly options: {
      readonly durability: Durability
      readonly datasync: (fd: number) => Promise<void>
    },
  ) {}

  async append(record: WorkflowRecordBody, options: { sync?: boolean } = {}): Promise<void> {
    if (this.closed) throw new Error(`the log of workflow run ${this.runId} is closed`)
    this.throwFailure()
    this.fd ??= openSync(this.file, 'a')
    const line = `${JSON.stringify({ seq: ++this.seq, time: Date.now(), ...record })}\n`
    // One write() per record: what it returned survives a kill of the process.
    writeSync(this.fd, line)
    if (!options.sync) return
    if (this.options.durability === 'sync') await this.options.datasync(this.fd)
    else if (this.options.durability === 'step') this.syncOverlapped(this.fd)
  }

  private syncOverlapped(fd: number): void {
    if (this.syncing) {
      this.again = true
      return
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false
          await this.options.datasync(fd)
        } while (this.again)
      } catch (error) {
        this.failure ??= error
      } finally {
        this.syncing = undefined
      }
    })()
  }

  private throwFailure(): void {
    if (this.failure === undefined) return
    const cause = this.failure
    throw new Error(
      `the log of workflow run ${this.runId} could not be synced to disk (${(cause as Error)?.message ?? String(cause)}): records after the last good sync may not survive a power loss`,
      { cause },
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      await this.syncing
      this.throwFailure()
    } finally {
      if (this.fd !== undefined) closeSync(this.fd)
      await unlink(this.lock).catch(() => undefined)
    }
  }
}

async function takeLock(lock: string, runId: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' })
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const pid = Number(await readFile(lock, 'utf8').catch(() => ''))
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new TauError(
          ORCHESTRATE_ERRORS.TAU_WORKFLOW_LOCKED,
          `workflow run '${runId}' is being run by process ${pid}`,
          { plugin: 'orchestrate' },
        )
      }
      // The writer is gone (killed): its lock is taken over.
      await unlink(lock).catch(() => undefined)
    }
  }
  throw new TauError(ORCHESTRATE_ERRORS.TAU_WORKFLOW_LOCKED, `could not lock workflow run '${runId}'`, {
    plugin: 'orchestrate',
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Parses a log; a torn (unterminated, unparsable) last line is dropped, anything else throws. */
export function parseLog(
  text: string,
  file: string,
): { records: WorkflowRecord[]; validBytes: number; totalBytes: number } {
  const records: WorkflowRecord[] = []
  let offset = 0
  let validBytes = 0
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    const last = index === lines.length - 1
    const bytes = Buffer.byteLength(line) + (last ? 0 : 1)
    if (line.trim() !== '') {
      try {
        records.push(JSON.parse(line) as WorkflowRecord)
      } catch {
        if (last) break
        throw new TauError(
          ORCHESTRATE_ERRORS.TAU_WORKFLOW_LOG_CORRUPT,
          `line ${index + 1} of ${file} is not a JSON record`,
          { plugin: 'orchestrate', file },
        )
      }
    }
    offset += bytes
    validBytes = offset
  }
  return { records, validBytes, totalBytes: Buffer.byteLength(text) }
}
