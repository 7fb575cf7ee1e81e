/**
 * The URL DBOS is given carries DBOS's idle-in-transaction timeout as a startup parameter (so DBOS
 * does not send an un-awaited SET on each new connection; test/e2e/durable-pg-clients.test.ts):
 * a real connection made with it has the setting, keeps other options of the user's URL, and a
 * URL that sets the timeout itself is left as it is.
 */
import { describe, expect, it } from 'vitest'
import { DBOS_IDLE_TRANSACTION_TIMEOUT_MS, dbosDatabaseUrl } from '../../../plugins/durable-dbos/engine.js'
import { createPool } from '../../../plugins/session-postgres/index.js'
import { usePgCluster } from '../session-postgres/pg-cluster.js'

const cluster = usePgCluster()

async function settings(url: string, names: readonly string[]): Promise<string[]> {
  const pool = await createPool(url, { max: 1 })
  try {
    const out: string[] = []
    for (const name of names) {
      const row = (
        await pool.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = $1`, [name])
      ).rows[0]
      out.push(row?.setting ?? '')
    }
    return out
  } finally {
    await pool.end()
  }
}

describe('dbosDatabaseUrl', () => {
  it("a connection made with it has DBOS's idle-in-transaction timeout from the start", async () => {
    expect(DBOS_IDLE_TRANSACTION_TIMEOUT_MS).toBe(60_000)
    expect(await settings(cluster.url, ['idle_in_transaction_session_timeout'])).toEqual(['0'])
    expect(await settings(dbosDatabaseUrl(cluster.url), ['idle_in_transaction_session_timeout'])).toEqual([
      '60000',
    ])
  })

  it("keeps the URL's own options, and leaves a timeout the URL sets", async () => {
    const withPath = `${cluster.url}?options=${encodeURIComponent('-c search_path=tau_test')}`
    expect(
      await settings(dbosDatabaseUrl(withPath), ['search_path', 'idle_in_transaction_session_timeout']),
    ).toEqual(['tau_test', '60000'])
    const own = `${cluster.url}?options=${encodeURIComponent('-c idle_in_transaction_session_timeout=5000')}`
    expect(dbosDatabaseUrl(own)).toBe(own)
    expect(await settings(dbosDatabaseUrl(own), ['idle_in_transaction_session_timeout'])).toEqual(['5000'])
    expect(dbosDatabaseUrl('not a url')).toBe('not a url')
  })
})
