/**
 * GET /sessions/{id} of a stored session (not in memory) reads that one session from the store,
 * not the list of every transcript: the hub asks the store's summary(id). Real JSONL store in a
 * temp dir, a session run through the agent on the scripted model, then a fresh hub.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestKernel, type TestKernel } from '../../../kernel/testing/index.js'
import agent, { agentRuntimeRef } from '../../../plugins/agent/index.js'
import permissions from '../../../plugins/permissions/index.js'
import providerScripted from '../../../plugins/provider-scripted/index.js'
import providers from '../../../plugins/providers/index.js'
import sandbox from '../../../plugins/sandbox/index.js'
import { SessionHub } from '../../../plugins/serve/public.js'
import session, { sessionServiceRef } from '../../../plugins/session/index.js'
import sessionController, { sessionControllersRef } from '../../../plugins/session-controller/index.js'
import tools from '../../../plugins/tools/index.js'

let dir: string
let kernel: TestKernel

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tau-hub-get-'))
  kernel = await createTestKernel({
    cwd: dir,
    tauHome: join(dir, 'home'),
    plugins: [providers, providerScripted, sandbox, tools, permissions, agent, session, sessionController],
    config: {
      model: 'scripted:test',
      providers: { scripted: { turns: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] } },
      sandbox: { mode: 'off' },
    },
  })
})

afterAll(async () => {
  await kernel?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function stored(prompt: string): Promise<string> {
  const agentSession = kernel.resolve(agentRuntimeRef).createSession()
  for await (const _ of agentSession.run(prompt)) {
    // run to the end: the log has the turn
  }
  await agentSession.close()
  return agentSession.id
}

describe('GET /sessions/{id} of a stored session', () => {
  it("reads that session's summary from the store, without listing every transcript", async () => {
    const first = await stored('the first session')
    await stored('another one')
    const service = kernel.resolve(sessionServiceRef)
    const store = service.store
    // The store's own summary of one session is what its listing says of it.
    const listed = (await store.list()).find((s) => s.id === first)
    expect(await store.summary?.(first)).toEqual(listed)
    expect(await store.summary?.('no-such-session')).toBeUndefined()

    const hub = new SessionHub({
      controllers: kernel.resolve(sessionControllersRef),
      sessions: service,
      cwd: dir,
      bufferSize: 100,
      logger: kernel.logger,
    })
    const listAll = vi.spyOn(store, 'list')
    const serviceList = vi.spyOn(service, 'list')
    try {
      const view = await hub.get(first)
      expect(view).toMatchObject({
        id: first,
        loaded: false,
        status: 'idle',
        title: 'the first session',
        model: 'scripted:test',
        turns: 1,
        startedAt: listed?.startedAt,
        updatedAt: listed?.updatedAt,
      })
      expect(listAll).not.toHaveBeenCalled()
      expect(serviceList).not.toHaveBeenCalled()
      await expect(hub.get('no-such-session')).rejects.toMatchObject({ code: 'TAU_SERVE_NOT_FOUND' })
    } finally {
      listAll.mockRestore()
      serviceList.mockRestore()
      await hub.close()
    }
  })
})
