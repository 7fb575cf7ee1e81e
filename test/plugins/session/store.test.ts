/**
 * The JSONL store under the store contract (store-contract.ts), and what only it does: the lock
 * file of a process that is gone is taken over; transcripts of the old place inside the
 * workspace are moved out once, with one notice.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { durabilityOf, JsonlTranscriptStore, sessionConfig } from '../../../plugins/session/index.js'
import { tempDir } from '../agent/helpers.js'
import { storeContract } from './store-contract.js'

const dirs: Array<{ remove(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()))
})
async function dir(): Promise<string> {
  const d = await tempDir('tau-store-')
  dirs.push(d)
  return d.dir
}

storeContract('jsonl', {
  async create() {
    const root = await dir()
    return { store: new JsonlTranscriptStore(root), again: async () => new JsonlTranscriptStore(root) }
  },
})

describe('JSONL store', () => {
  it('takes over the lock file of a process that is gone', async () => {
    const root = await dir()
    // A pid that surely is not running: a child that has exited.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid
    await writeFile(
      join(root, 's1.lock'),
      JSON.stringify({ pid: gone, host: hostname(), startedAt: '2025-01-01T00:00:00.000Z', token: 'old' }),
    )
    const store = new JsonlTranscriptStore(root)
    const lease = await store.acquire('s1')
    expect(JSON.parse(await readFile(join(root, 's1.lock'), 'utf8'))).toMatchObject({ pid: process.pid })
    await lease.release()
    expect(existsSync(join(root, 's1.lock'))).toBe(false)
    // A live holder (this process, through another store) is not taken over.
    await writeFile(
      join(root, 's2.lock'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        startedAt: '2025-01-01T00:00:00.000Z',
        token: 'x',
      }),
    )
    await expect(store.acquire('s2')).rejects.toMatchObject({
      code: 'TAU_SESSION_LOCKED',
      message: expect.stringContaining(`in use by process ${process.pid} on ${hostname()}`),
    })
  })

  it('moves the transcripts of the old place in once, with one notice', async () => {
    const root = await dir()
    const legacy = join(root, 'project', '.tau', 'sessions')
    await mkdir(legacy, { recursive: true })
    const line = `${JSON.stringify({ type: 'meta', version: 1, id: 'old1', startedAt: '2025-01-01T00:00:00.000Z', cwd: '/p', model: 'm', title: 't' })}\n`
    await writeFile(join(legacy, 'old1.jsonl'), line)
    const notices: string[] = []
    const target = join(root, 'home', 'projects', 'key')
    const store = new JsonlTranscriptStore(target, { legacyDir: legacy, onMoved: (n) => notices.push(n) })
    expect((await store.list()).map((s) => s.id)).toEqual(['old1'])
    await store.read('old1')
    expect(await readdir(target)).toEqual(['old1.jsonl'])
    expect(existsSync(legacy)).toBe(false)
    expect(notices).toHaveLength(1)
    expect(notices[0]).toContain(`from ${legacy} to ${target}`)
  })
})

describe('session.durability', () => {
  it('defaults to turn; fsync is its old name; the two disagreeing is a config error on fsync', () => {
    expect(durabilityOf(sessionConfig.parse({}))).toBe('turn')
    expect(durabilityOf(sessionConfig.parse({ durability: 'record' }))).toBe('record')
    expect(durabilityOf(sessionConfig.parse({ fsync: true }))).toBe('record')
    expect(durabilityOf(sessionConfig.parse({ fsync: false }))).toBe('off')
    expect(sessionConfig.safeParse({ fsync: true, durability: 'record' }).success).toBe(true)
    const clash = sessionConfig.safeParse({ fsync: true, durability: 'off' })
    expect(clash.success).toBe(false)
    expect(clash.error?.issues[0]).toMatchObject({
      path: ['fsync'],
      message: expect.stringContaining('old name'),
    })
    expect(sessionConfig.safeParse({ durability: 'always' }).success).toBe(false)
  })
})
