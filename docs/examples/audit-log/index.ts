import { appendFile, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { AsyncSeriesWaterfallHook, defineHooks, definePlugin, defineService } from 'tau-agent'
import { z } from 'zod'

/** One line of the audit log. */
export interface AuditEntry {
  event: string
  data: Record<string, unknown>
}

/** The service this plugin provides: other plugins resolve it to write entries. */
export interface AuditLog {
  record(event: string, data?: Record<string, unknown>): Promise<void>
}
export const auditLogRef = defineService<AuditLog>('audit-log.writer')

/** The hooks this plugin declares: others tap `entry` to rewrite an entry before it is written. */
export const auditHooks = defineHooks<{ entry: AsyncSeriesWaterfallHook<[AuditEntry]> }>('audit-log')

export default definePlugin({
  name: 'audit-log',
  description: 'Appends events to a JSON Lines file in the project',
  config: z.object({
    /** Relative to the project directory. */
    file: z.string().default('.tau/audit.jsonl'),
  }),
  setup(ctx) {
    const file = resolve(ctx.paths.projectDir, ctx.config.file)
    const hooks = ctx.declareHooks(auditHooks, {
      entry: new AsyncSeriesWaterfallHook<[AuditEntry]>(['entry']),
    })
    let ready: Promise<unknown> | undefined
    ctx.provide(auditLogRef, {
      async record(event, data = {}) {
        const entry = await hooks.entry.promise({ event, data })
        ready ??= mkdir(dirname(file), { recursive: true })
        await ready
        await appendFile(file, `${JSON.stringify(entry)}\n`)
      },
    })
    ctx.logger.debug('writing audit entries', { file })
  },
})
