/**
 * The workflow log's durability modes, with the fdatasync held by the test so what waits for it
 * can be seen (a real disk's sync is too quick to catch in flight). In every mode a record is in
 * the file when append() resolves: that is what survives a kill -9 (the e2e workflow tests kill
 * tau for real, under the default mode).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type WorkflowDurability, WorkflowStore } from '../../../plugins/orchestrate/index.js'
import { HANG_LIMIT_MS } from '../../e2e/run-tau.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

/** A store whose syncs wait for the test to release them; each sync notes the lines it covers. */
async function heldStore(durability: WorkflowDurability, fail?: Error) {
  const dir = await mkdtemp(join(tmpdir(), 'tau-wflog-'))
  dirs.push(dir)
  const syncs: Array<{ lines: number; release: () => void }> = []
  const file = join(dir, 'run1.jsonl')
  const lines = async () => (await readFile(file, 'utf8')).split('\n').length - 1
  const store = new WorkflowStore(dir, {
    durability,
    datasync: async () => {
      const seen = await lines()
      await new Promise<void>((release) => syncs.push({ lines: seen, release }))
      if (fail) throw fail
    },
  })
  const syncCalled = async (n: number) => {
    const deadline = Date.now() + HANG_LIMIT_MS
    while (syncs.length < n) {
      if (Date.now() > deadline) throw new Error(`sync ${n} was never called`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return syncs[n - 1]!
  }
  /** Whether a promise is still pending after every callback already due has run. */
  const pending = async (promise: Promise<unknown>) => {
    let settled = false
    void promise.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    await new Promise((resolve) => setImmediate(resolve))
    return !settled
  }
  return { store, syncs, lines, syncCalled, pending }
}

const start = { type: 'start', runId: 'run1', workflow: 'w', input: null, cwd: '/' } as const
const stepEnd = (step: string) => ({ type: 'step-end', step, outcome: { output: step } }) as const

describe('workflow log durability', () => {
  it("'step': a step's end is written and its sync overlapped; syncs asked for meanwhile become one; close() waits for it", async () => {
    const { store, syncs, lines, syncCalled, pending } = await heldStore('step')
    const log = await store.create(start)
    const first = await syncCalled(1)
    // Not waited for: the run goes on while the start record's sync is in flight.
    expect(await pending(log.append(stepEnd('a'), { sync: true }))).toBe(false)
    expect(await pending(log.append({ type: 'step-start', step: 'b', kind: 'fn', input: null }))).toBe(false)
    expect(await pending(log.append(stepEnd('b'), { sync: true }))).toBe(false)
    expect(await lines()).toBe(4)
    expect(syncs).toHaveLength(1)
    first.release()
    // One more sync covers both step ends written while the first ran.
    const second = await syncCalled(2)
    expect(second.lines).toBe(4)
    const closing = log.close()
    expect(await pending(closing)).toBe(true)
    second.release()
    await closing
    expect(syncs).toHaveLength(2)
  })

  it("'sync': append() resolves only once its record is on disk", async () => {
    const { store, syncCalled, pending } = await heldStore('sync')
    const creating = store.create(start)
    ;(await syncCalled(1)).release()
    const log = await creating
    const ending = log.append(stepEnd('a'), { sync: true })
    const sync = await syncCalled(2)
    expect(sync.lines).toBe(2)
    expect(await pending(ending)).toBe(true)
    sync.release()
    await ending
    // A record without `sync` is only written.
    await log.append({ type: 'step-start', step: 'b', kind: 'fn', input: null })
    await log.close()
  })

  it("'off': nothing is ever synced, every record is written", async () => {
    const { store, syncs, lines } = await heldStore('off')
    const log = await store.create(start)
    await log.append(stepEnd('a'), { sync: true })
    await log.close()
    expect(syncs).toHaveLength(0)
    expect(await lines()).toBe(2)
  })

  it('a sync that fails after the run went on fails the next append and the close, saying so', async () => {
    const { store, syncCalled } = await heldStore('step', new Error('EIO: i/o error'))
    const log = await store.create(start)
    ;(await syncCalled(1)).release()
    const deadline = Date.now() + HANG_LIMIT_MS
    let error: unknown
    while (error === undefined && Date.now() < deadline) {
      error = await log.append(stepEnd('a')).catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(error).toMatchObject({
      message: expect.stringMatching(/workflow run run1 could not be synced to disk \(EIO: i\/o error\)/),
    })
    await expect(log.close()).rejects.toThrow(/could not be synced/)
  })
})
