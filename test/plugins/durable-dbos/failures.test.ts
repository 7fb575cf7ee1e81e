/**
 * A durable client that cannot use its database says which of the user's settings to fix, from
 * the catalogue: a URL that is not PostgreSQL's, a server that does not answer, a user it refuses,
 * a database that is not there. Against a real throwaway PostgreSQL cluster.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../kernel/index.js'
import { createDurableClient, durableConfig } from '../../../plugins/durable-dbos/index.js'
import { freePort, usePgCluster } from '../session-postgres/pg-cluster.js'

// A cluster without tau's or DBOS's tables ('none'): 'a working database' runs the durable
// client's migrations from scratch (the other durable files start from a migrated template).
const cluster = usePgCluster({ schema: 'none' })

async function listAt(url: string): Promise<unknown> {
  const client = await createDurableClient({
    url,
    config: durableConfig.parse({}),
    applicationVersion: 'test',
    logger: createLogger('durable-dbos', { level: 'error' }),
  })
  try {
    return await client.list()
  } finally {
    await client.close()
  }
}

describe('durable client failures', () => {
  it('a URL that is not postgres:// is TAU_DURABLE_DATABASE_URL', async () => {
    await expect(listAt('mysql://tau@127.0.0.1/db')).rejects.toMatchObject({
      code: 'TAU_DURABLE_DATABASE_URL',
      plugin: 'durable-dbos',
    })
    await expect(listAt('not a url')).rejects.toMatchObject({ code: 'TAU_DURABLE_DATABASE_URL' })
  })

  it('nothing listening at the port is TAU_DURABLE_DATABASE_UNREACHABLE, naming the masked URL', async () => {
    const port = await freePort()
    const error = await listAt(`postgres://tau:secret@127.0.0.1:${port}/postgres`).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TAU_DURABLE_DATABASE_UNREACHABLE', plugin: 'durable-dbos' })
    expect((error as Error).message).toContain(`127.0.0.1:${port}`)
    expect((error as Error).message).not.toContain('secret')
    expect((error as { hint: string }).hint).toMatch(/pg_isready/)
  })

  it('a database the server does not have is TAU_DURABLE_DATABASE_MISSING', async () => {
    await expect(
      listAt(`postgres://tau@${cluster.host}:${cluster.port}/no_such_database`),
    ).rejects.toMatchObject({ code: 'TAU_DURABLE_DATABASE_MISSING', plugin: 'durable-dbos' })
  })

  it('a wrong password is TAU_DURABLE_DATABASE_AUTH', async () => {
    cluster.sql(`CREATE ROLE pwuser LOGIN PASSWORD 'right'`)
    // The cluster trusts everyone; for this user the server asks for the password (first match wins).
    const hba = `${cluster.dataDir}/pg_hba.conf`
    writeFileSync(hba, `host all pwuser 0.0.0.0/0 scram-sha-256\n${readFileSync(hba, 'utf8')}`)
    cluster.sql('SELECT pg_reload_conf()')
    await expect(
      listAt(`postgres://pwuser:wrong@${cluster.host}:${cluster.port}/postgres`),
    ).rejects.toMatchObject({ code: 'TAU_DURABLE_DATABASE_AUTH', plugin: 'durable-dbos' })
  })

  it('a working database lists its runs (none yet)', async () => {
    await expect(listAt(await cluster.createDatabase('durable_ok'))).resolves.toEqual([])
  })
})
