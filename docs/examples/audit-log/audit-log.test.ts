import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { definePlugin } from 'tau-agent'
import { createTestKernel } from 'tau-agent/testing'
import { describe, expect, it } from 'vitest'
import auditLog, { auditHooks, auditLogRef } from './index.js'

describe('audit-log plugin', () => {
  it('appends entries to the configured file', async () => {
    const kernel = await createTestKernel({
      plugins: [auditLog],
      config: { 'audit-log': { file: 'logs/audit.jsonl' } },
    })
    await kernel.resolve(auditLogRef).record('login', { user: 'ada' })
    const text = await readFile(join(kernel.paths.projectDir, 'logs/audit.jsonl'), 'utf8')
    expect(text).toBe('{"event":"login","data":{"user":"ada"}}\n')
    await kernel.stop()
  })

  it('lets other plugins rewrite entries through its hook', async () => {
    const redactor = definePlugin({
      name: 'redactor',
      dependsOn: ['audit-log'],
      setup(ctx) {
        ctx
          .hooksOf(auditHooks)
          .entry.tap((entry) => ({ ...entry, data: { ...entry.data, user: '[hidden]' } }))
      },
    })
    const kernel = await createTestKernel({ plugins: [auditLog, redactor] })
    await kernel.resolve(auditLogRef).record('login', { user: 'ada' })
    const text = await readFile(join(kernel.paths.projectDir, '.tau/audit.jsonl'), 'utf8')
    expect(JSON.parse(text)).toEqual({ event: 'login', data: { user: '[hidden]' } })
    await kernel.stop()
  })

  it('rejects a config of the wrong type, naming the field and the plugin', async () => {
    await expect(
      createTestKernel({ plugins: [auditLog], config: { 'audit-log': { file: 42 } } }),
    ).rejects.toMatchObject({
      code: 'TAU_CONFIG_INVALID',
      plugin: 'audit-log',
      message: expect.stringContaining('audit-log.file: expected string, got 42'),
    })
  })
})
