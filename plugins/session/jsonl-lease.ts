/**
 * The JSONL store's lease, one writer per session: a lock file `<id>.lock` beside the transcript
 * (pid, host, start time and a token), created exclusively, renewed by touching it. A lock whose
 * holder is gone (a dead process on this host; on another host, one not renewed within the TTL)
 * is taken over; any other holder gets TAU_SESSION_LOCKED naming it.
 */
import { randomUUID } from 'node:crypto'
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { TauError } from '../../kernel/index.js'
import { SESSION_ERRORS } from './errors.js'
import type { LeaseHolder, TranscriptLease } from './transcript.js'

/** A lease on another host is taken over when its lock file was not renewed for this long. */
export const LEASE_TTL_MS = 10 * 60_000
const LEASE_RENEW_MS = 60_000

/**
 * Takes the lease of session `id` with the lock file `file`, and keeps it in `leases` (until it
 * is released); throws TAU_SESSION_LOCKED when another holder has it.
 */
export async function takeLease(
  id: string,
  file: string,
  leases: Map<string, JsonlLease>,
): Promise<JsonlLease> {
  const holder: LeaseHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
  const token = randomUUID()
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify({ ...holder, token })}\n`, { flag: 'wx' })
      const lease = new JsonlLease(id, file, holder, token, () => leases.delete(id))
      leases.set(id, lease)
      return lease
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error
    }
    const current = await readLock(file)
    if (current === undefined) continue // it went away (or is being written): try again
    if (!(await isStale(file, current))) throw lockedError(id, file, current)
    await takeOver(file, current, token).catch(() => undefined)
  }
}

/** A lock file `<id>.lock` (pid, host, start time, token), renewed by touching it. */
export class JsonlLease implements TranscriptLease {
  private released = false
  private readonly timer: NodeJS.Timeout

  constructor(
    readonly sessionId: string,
    private readonly file: string,
    readonly holder: LeaseHolder,
    private readonly token: string,
    private readonly onRelease: () => void,
  ) {
    // Only a lease on another host can expire; touching keeps it fresh for them.
    this.timer = setInterval(() => {
      this.renew().catch(() => undefined)
    }, LEASE_RENEW_MS)
    this.timer.unref()
  }

  async renew(): Promise<void> {
    const current = await readLock(this.file)
    if (current?.token !== this.token) {
      throw new TauError(
        SESSION_ERRORS.TAU_SESSION_LOCKED,
        `the lease on session ${this.sessionId} was lost${current ? ` to ${describeHolder(current)}` : ''} (${this.file})`,
        { plugin: 'session' },
      )
    }
    const now = new Date()
    await utimes(this.file, now, now)
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    clearInterval(this.timer)
    this.onRelease()
    const current = await readLock(this.file)
    if (current?.token === this.token) await unlink(this.file).catch(() => undefined)
  }
}

type LockContent = LeaseHolder & { readonly token: string }

async function readLock(file: string): Promise<LockContent | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<LockContent>
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.token !== 'string')
      return undefined
    return value as LockContent
  } catch {
    return undefined
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** On this host: the holder's process is gone. Elsewhere: the lock was not renewed within the TTL. */
async function isStale(file: string, lock: LockContent): Promise<boolean> {
  if (lock.host === hostname()) return lock.pid !== process.pid && !pidAlive(lock.pid)
  const info = await stat(file).catch(() => undefined)
  return info !== undefined && Date.now() - info.mtimeMs > LEASE_TTL_MS
}

/**
 * Removes a stale lock, and only that one: it is renamed aside first, and put back if what was
 * moved is not the stale lock (another process took it over in between).
 */
async function takeOver(file: string, stale: LockContent, token: string): Promise<void> {
  const aside = `${file}.${token}.stale`
  await rename(file, aside)
  const moved = await readLock(aside)
  if (moved?.token !== stale.token) {
    await link(aside, file).catch(() => undefined)
  }
  await unlink(aside).catch(() => undefined)
}

function describeHolder(holder: LeaseHolder): string {
  return `process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`
}

export function lockedError(id: string, file: string, holder: LeaseHolder, who?: string): TauError {
  return new TauError(
    SESSION_ERRORS.TAU_SESSION_LOCKED,
    `session ${id} is in use by ${who ?? describeHolder(holder)}; its lock is ${file}`,
    { plugin: 'session' },
  )
}
