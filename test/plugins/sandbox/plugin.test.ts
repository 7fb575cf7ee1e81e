import { mkdir, realpath, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createTestKernel } from 'tau-agent/testing'
import { describe, expect, it } from 'vitest'
import sandbox, { environmentRef, LocalEnvironment } from '../../../plugins/sandbox/index.js'

describe('sandbox plugin', () => {
  it('gives each session its own environment, rooted at the session cwd', async () => {
    const kernel = await createTestKernel({ plugins: [sandbox] })
    try {
      const project = await realpath(kernel.paths.cwd)
      await mkdir(join(project, 'a'))
      await mkdir(join(project, 'b'))
      await writeFile(join(project, 'b', 'file.txt'), 'b\n')
      const one = kernel.createSession({ cwd: join(project, 'a') })
      const two = kernel.createSession({ cwd: join(project, 'b') })
      const envOne = one.resolve(environmentRef)
      const envTwo = two.resolve(environmentRef)
      expect(envOne).toBeInstanceOf(LocalEnvironment)
      expect(one.resolve(environmentRef)).toBe(envOne)
      expect(envOne.roots).toEqual([join(project, 'a')])
      expect(envTwo.cwd).toBe(join(project, 'b'))
      expect((await envTwo.readFile('file.txt')).toString()).toBe('b\n')
      await expect(envOne.readFile('../b/file.txt')).rejects.toMatchObject({ kind: 'outside-workspace' })
      await one.dispose()
      await two.dispose()
    } finally {
      await kernel.stop()
    }
  })

  it('adds configured roots (relative to the project dir) and env settings', async () => {
    const kernel = await createTestKernel({
      plugins: [sandbox],
      config: { sandbox: { roots: ['../shared-data'], env: { allow: ['MY_TOOL_*'], set: { CI: '1' } } } },
    })
    try {
      const project = await realpath(kernel.paths.projectDir)
      const session = kernel.createSession({ cwd: project })
      const env = session.resolve(environmentRef)
      expect(env.roots).toEqual([project, join(project, '..', 'shared-data')])
      expect(env.processEnv()).toMatchObject({ CI: '1' })
      await session.dispose()
    } finally {
      await kernel.stop()
    }
  })

  it('rejects a malformed config, naming the field and the plugin', async () => {
    await expect(
      createTestKernel({ plugins: [sandbox], config: { sandbox: { env: { allow: ['NOT VALID'] } } } }),
    ).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'sandbox',
      message: expect.stringContaining('sandbox.env.allow[0]'),
    })
    await expect(
      createTestKernel({ plugins: [sandbox], config: { sandbox: { rootz: [] } } }),
    ).rejects.toMatchObject({ code: 'TAU_CONFIG_UNKNOWN_KEY', plugin: 'sandbox' })
  })

  it('ends running commands when the session is disposed', async () => {
    const kernel = await createTestKernel({ plugins: [sandbox] })
    try {
      const session = kernel.createSession()
      const env = session.resolve(environmentRef)
      let started = false
      const run = env.exec('echo go; sleep 30', { onOutput: () => (started = true) })
      while (!started) await new Promise((r) => setTimeout(r, 20))
      await session.dispose()
      expect((await run).signal).toBe('SIGTERM')
    } finally {
      await kernel.stop()
    }
  })
})
