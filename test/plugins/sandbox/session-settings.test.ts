/**
 * Per-session sandbox settings: one kernel, one session under real bubblewrap and one on the
 * local machine, each chosen by its own `createSession({ settings: { sandbox } })`. The bwrap
 * session cannot write outside its workspace nor reach a loopback port of the host; the local one
 * can, so each assertion fails when the session's settings are not what the factory reads.
 */
import { existsSync } from 'node:fs'
import { mkdir, realpath, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { createTestKernel } from 'tau-agent/testing'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import sandbox, { bwrapStatus, environmentRef } from '../../../plugins/sandbox/index.js'

const bwrap = bwrapStatus()

/** A loopback TCP server on the host that answers `pong`: what a sandbox with network none cannot reach. */
let server: Server
let port = 0
beforeAll(async () => {
  server = createServer((socket) => socket.end('pong\n'))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  port = typeof address === 'object' && address ? address.port : 0
})
afterAll(() => new Promise<void>((done) => server.close(() => done())))

/** Node (the host's, read-only inside bwrap) connecting to the host's loopback port. */
const connect = () =>
  [
    process.execPath,
    '-e',
    `const s=require('net').connect(${port},'127.0.0.1');s.on('data',d=>process.stdout.write(d));s.on('error',e=>{console.log('error '+e.code);process.exitCode=3})`,
  ] as const

describe.runIf(bwrap.available || process.env.CI === 'true')('per-session sandbox settings', () => {
  it('runs one session of a kernel under bwrap and another unconfined, each by its own settings', async () => {
    // The global config says off: only the session's own settings can make it bwrap.
    const kernel = await createTestKernel({ plugins: [sandbox], config: { sandbox: { mode: 'off' } } })
    try {
      const project = await realpath(kernel.paths.cwd)
      const outside = join(dirname(project), `tau-outside-${process.pid}-${Date.now()}`)
      await mkdir(outside)
      onTestFinished(() => rm(outside, { recursive: true, force: true }))
      const boxed = kernel.createSession({
        id: 'boxed',
        cwd: project,
        settings: { sandbox: { mode: 'bwrap' } },
      })
      const open = kernel.createSession({ id: 'open', cwd: project, settings: { sandbox: { mode: 'off' } } })
      const plain = kernel.createSession({ id: 'plain', cwd: project })
      const inBox = boxed.resolve(environmentRef)
      const inOpen = open.resolve(environmentRef)
      expect(inBox.kind).toBe('bwrap')
      expect(inBox.capabilities).toMatchObject({ filesystemIsolation: true, network: 'none' })
      expect(inOpen.kind).toBe('local')
      expect(plain.resolve(environmentRef).kind).toBe('local')

      // Writes: inside the workspace both can; outside only the unconfined one.
      const write = (path: string) => `echo hi > ${path}`
      expect((await inBox.exec(write(join(outside, 'from-bwrap')))).exitCode).not.toBe(0)
      expect(existsSync(join(outside, 'from-bwrap'))).toBe(false)
      expect((await inBox.exec(write('in-bwrap'))).exitCode).toBe(0)
      expect(existsSync(join(project, 'in-bwrap'))).toBe(true)
      expect((await inOpen.exec(write(join(outside, 'from-local')))).exitCode).toBe(0)
      expect(existsSync(join(outside, 'from-local'))).toBe(true)

      // Network none: the host's loopback port is out of reach under bwrap, reached unconfined.
      const boxedNet = await inBox.exec(connect())
      expect(boxedNet.stdout).toMatch(/^error E/)
      expect(boxedNet.stdout).not.toContain('pong')
      expect((await inOpen.exec(connect())).stdout).toBe('pong\n')
      await boxed.dispose()
      await open.dispose()
      await plain.dispose()
    } finally {
      await kernel.stop()
    }
  })

  it('lets a session leave a bwrap config, and merges its network over the global policy', async () => {
    const kernel = await createTestKernel({
      plugins: [sandbox],
      config: { sandbox: { mode: 'bwrap', env: { set: { FROM_GLOBAL: '1' } } } },
    })
    try {
      const project = await realpath(kernel.paths.cwd)
      const def = kernel.createSession({ cwd: project })
      const off = kernel.createSession({ cwd: project, settings: { sandbox: { mode: 'off' } } })
      const full = kernel.createSession({
        cwd: project,
        settings: { sandbox: { network: { mode: 'full' } } },
      })
      expect(def.resolve(environmentRef).kind).toBe('bwrap')
      expect(off.resolve(environmentRef).kind).toBe('local')
      const fullEnv = full.resolve(environmentRef)
      expect(fullEnv.kind).toBe('bwrap')
      expect(fullEnv.capabilities.network).toBe('full')
      // The global env.set is kept under the session's override (merged key by key).
      expect(fullEnv.processEnv()).toMatchObject({ FROM_GLOBAL: '1' })
      expect((await fullEnv.exec(connect())).stdout).toBe('pong\n')
      expect((await def.resolve(environmentRef).exec(connect())).stdout).toMatch(/^error E/)
      await Promise.all([def.dispose(), off.dispose(), full.dispose()])
    } finally {
      await kernel.stop()
    }
  })

  it('refuses a session setting the sandbox schema does not take, naming session and field', async () => {
    const kernel = await createTestKernel({ plugins: [sandbox], config: { sandbox: { mode: 'off' } } })
    try {
      expect(() => kernel.createSession({ id: 's1', settings: { sandbox: { mode: 'jail' } } })).toThrow(
        expect.objectContaining({
          code: 'TAU_SESSION_SETTINGS_INVALID',
          plugin: 'sandbox',
          message: expect.stringContaining('sandbox.mode'),
        }),
      )
    } finally {
      await kernel.stop()
    }
  })
})
