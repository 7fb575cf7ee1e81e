/**
 * The TranscriptStore contract, as a suite any store runs: `storeContract('jsonl', factory)`.
 * A PostgreSQL (or SQLite) store passes the same tests: records come back in order, one writer
 * at a time (a second acquire is refused naming the holder, a released lease can be taken
 * again), sync() and close() report success, list() finds what was written.
 */
import { describe, expect, it } from 'vitest'
import type { TranscriptRecord, TranscriptStore } from '../../../plugins/session/index.js'

export interface StoreFactory {
  /** A new, empty store; `again()` opens a second handle on the same storage (another process). */
  create(): Promise<{ store: TranscriptStore; again(): Promise<TranscriptStore> }>
}

const meta = (id: string): TranscriptRecord => ({
  type: 'meta',
  seq: 0,
  version: 2,
  id,
  startedAt: '2025-01-01T00:00:00.000Z',
  cwd: '/p',
  model: 'scripted:x',
  title: 'hello',
})
const message = (seq: number, index: number, text: string): TranscriptRecord => ({
  type: 'message',
  seq,
  id: `r${seq}`,
  index,
  at: '2025-01-01T00:00:01.000Z',
  message: { role: 'user', content: text },
})

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`TranscriptStore contract: ${name}`, () => {
    it('appends records in order and reads them back; exists() and list() see the session', async () => {
      const { store } = await factory.create()
      expect(await store.exists('s1')).toBe(false)
      const lease = await store.acquire('s1')
      await store.append('s1', [meta('s1'), message(1, 0, 'one')])
      await store.append('s1', [message(2, 1, 'two')])
      await store.sync('s1')
      expect(await store.exists('s1')).toBe(true)
      expect((await store.read('s1')).records).toEqual([
        meta('s1'),
        message(1, 0, 'one'),
        message(2, 1, 'two'),
      ])
      expect((await store.list()).map((s) => [s.id, s.messages])).toEqual([['s1', 2]])
      await store.close('s1')
      await lease.release()
      await expect(store.read('missing')).rejects.toMatchObject({ code: 'TAU_SESSION_NOT_FOUND' })
    })

    it("keeps a meta record's settings and withheld paths as written (a reopened session runs with them)", async () => {
      const { store, again } = await factory.create()
      const lease = await store.acquire('s2')
      const withSettings: TranscriptRecord = {
        ...meta('s2'),
        settings: {
          mcpServers: {
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference as an MCP config holds it
            docs: { type: 'http', url: 'http://127.0.0.1:1/mcp', headers: { A: 'Bearer ${T}' } },
          },
          sandbox: { mode: 'bwrap', network: { mode: 'none' } },
        },
        withheld: [['mcpServers', 'gh', 'env', 'TOKEN']],
      } as TranscriptRecord
      await store.append('s2', [withSettings, message(1, 0, 'one')])
      await store.sync('s2')
      expect((await store.read('s2')).records).toEqual([withSettings, message(1, 0, 'one')])
      expect((await (await again()).read('s2')).records[0]).toEqual(withSettings)
      await store.close('s2')
      await lease.release()
    })

    it('one writer at a time: a second acquire is refused naming the holder, until the lease is released', async () => {
      const { store, again } = await factory.create()
      const other = await again()
      const lease = await store.acquire('s1')
      expect(lease.holder).toMatchObject({ pid: process.pid })
      await expect(other.acquire('s1')).rejects.toMatchObject({
        code: 'TAU_SESSION_LOCKED',
        message: expect.stringContaining('s1'),
      })
      await expect(store.acquire('s1')).rejects.toMatchObject({ code: 'TAU_SESSION_LOCKED' })
      await lease.renew()
      await lease.release()
      await lease.release() // idempotent
      const taken = await other.acquire('s1')
      await expect(store.acquire('s1')).rejects.toMatchObject({ code: 'TAU_SESSION_LOCKED' })
      await taken.release()
    })
  })
}
