/**
 * The PostgreSQL store under the same store contract as the JSONL one (store-contract.ts), against a
 * real throwaway cluster (pg-cluster.ts), and what only it does: tau's own migrations, expiring
 * leases taken over, a writer that lost its lease refused, a database that cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TranscriptRecord } from '../../../plugins/session/index.js'
import { createPool, MIGRATIONS } from '../../../plugins/session-postgres/index.js'
import { PostgresTranscriptStore } from '../../../plugins/session-postgres/public.js'
import { storeContract } from '../session/store-contract.js'
import { freePort, type PgCluster, startPostgres } from './pg-cluster.js'

let cluster: PgCluster
const stores: PostgresTranscriptStore[] = []
let databases = 0

beforeAll(async () => {
  // Its databases start with tau's tables (a copy of the migrated template1), but for the tests of
  // the migrations themselves, whose databases are empty (template0).
  cluster = await startPostgres({ schema: 'session' })
}, 120_000)
afterAll(async () => {
  await Promise.all(stores.splice(0).map((s) => s.end()))
  await cluster?.stop()
})

async function freshDatabase(options: { readonly empty?: boolean } = {}): Promise<string> {
  return cluster.createDatabase(`t${process.pid}_${++databases}`, options)
}
function open(url: string, options: { leaseTtlMs?: number; project?: string } = {}): PostgresTranscriptStore {
  const store = new PostgresTranscriptStore({ url, ...options })
  stores.push(store)
  return store
}

storeContract('postgres', {
  async create() {
    const url = await freshDatabase()
    return { store: open(url), again: async () => open(url) }
  },
})

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

describe('PostgreSQL store', () => {
  it('creates its tables once, recording each migration; a second store on the database applies none', async () => {
    const url = await freshDatabase({ empty: true })
    const pool = await createPool(url)
    try {
      const table = async () =>
        (await pool.query<{ t: string | null }>(`SELECT to_regclass('tau_migrations')::text AS t`)).rows[0]?.t
      expect(await table()).toBeNull()
      await open(url).list()
      expect(await table()).toBe('tau_migrations')
      await open(url).list()
      const rows = (
        await pool.query<{ version: number; name: string }>(
          'SELECT version, name FROM tau_migrations ORDER BY version',
        )
      ).rows
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
    } finally {
      await pool.end()
    }
  })

  it("a 'session' test cluster's databases start migrated (pg-cluster.ts's template)", async () => {
    const pool = await createPool(await freshDatabase())
    try {
      const rows = (
        await pool.query<{ version: number }>('SELECT version FROM tau_migrations ORDER BY version')
      ).rows
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
    } finally {
      await pool.end()
    }
  })

  it('refuses a database migrated by a newer tau', async () => {
    const url = await freshDatabase()
    await open(url).list()
    const pool = await createPool(url)
    await pool.query(`INSERT INTO tau_migrations (version, name) VALUES (999, 'from the future')`)
    await pool.end()
    await expect(open(url).list()).rejects.toMatchObject({
      code: 'TAU_POSTGRES_SCHEMA_NEWER',
      message: expect.stringContaining('999'),
    })
  })

  it('an expired lease is taken over; the writer that lost it is refused, and nothing it appends lands', async () => {
    const url = await freshDatabase()
    // The first writer's TTL is long, so its own renewals (every third of it) do not come during the test.
    const first = open(url, { leaseTtlMs: 60_000 })
    const second = open(url, { leaseTtlMs: 1000 })
    const lease = await first.acquire('s1')
    await first.append('s1', [meta('s1')])
    // The first writer stalls (simulated: its lease's expiry moved into the past, as if it had not
    // renewed it for longer than the TTL).
    const pool = await createPool(url)
    await pool.query(`UPDATE tau_leases SET expires_at = now() - interval '1 second' WHERE session_id = 's1'`)
    await pool.end()
    const taken = await second.acquire('s1')
    expect(taken.holder.pid).toBe(process.pid)
    await expect(
      first.append('s1', [{ type: 'system', seq: 1, id: 'r1', text: 'late' } as TranscriptRecord]),
    ).rejects.toMatchObject({ code: 'TAU_SESSION_LOCKED', message: expect.stringContaining('was lost') })
    await expect(lease.renew()).rejects.toMatchObject({ code: 'TAU_SESSION_LOCKED' })
    expect((await second.read('s1')).records).toEqual([meta('s1')])
    await lease.release() // releasing a lost lease leaves the new holder's alone
    await expect(first.acquire('s1')).rejects.toMatchObject({ code: 'TAU_SESSION_LOCKED' })
    await taken.release()
  })

  it('lists only the sessions of its project; reads any session by id', async () => {
    const url = await freshDatabase()
    const a = open(url, { project: 'a' })
    const b = open(url, { project: 'b' })
    await a.append('sa', [meta('sa')])
    await b.append('sb', [meta('sb')])
    expect((await a.list()).map((s) => s.id)).toEqual(['sa'])
    expect((await b.read('sa')).records).toEqual([meta('sa')])
    expect(a.location('sa')).toContain('#session=sa')
  })

  it('a record that is not valid is TAU_SESSION_CORRUPT naming where; a bad id is TAU_SESSION_BAD_ID', async () => {
    const url = await freshDatabase()
    const store = open(url)
    await store.append('s1', [meta('s1')])
    const pool = await createPool(url)
    await pool.query(`INSERT INTO tau_records (session_id, record) VALUES ('s1', '{"type":"nonsense"}')`)
    await pool.end()
    await expect(store.read('s1')).rejects.toMatchObject({
      code: 'TAU_SESSION_CORRUPT',
      message: expect.stringContaining('record 2'),
    })
    await expect(store.read('../etc')).rejects.toMatchObject({ code: 'TAU_SESSION_BAD_ID' })
  })

  it('a database that cannot be reached is TAU_POSTGRES_UNAVAILABLE with the URL, without its password', async () => {
    const port = await freePort()
    const store = open(`postgres://tau:secret@127.0.0.1:${port}/nothing`)
    const error = await store.list().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_POSTGRES_UNAVAILABLE', plugin: 'session-postgres' })
    expect(String((error as Error).message)).toContain(`127.0.0.1:${port}`)
    expect(String((error as Error).message)).not.toContain('secret')
  })
})
