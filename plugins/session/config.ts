/**
 * The `session` config slice: whether and where transcripts are written, when they reach the
 * disk (`durability`, and its old name `fsync`), and when and how sessions are compacted.
 */
import { z } from 'zod'
import type { Durability } from './jsonl-store.js'

export const sessionConfig = z
  .strictObject({
    /** Write transcripts (false: sessions are not persisted, and cannot be resumed). */
    persist: z.boolean().default(true),
    /**
     * Where the JSONL store keeps transcripts (relative: to the project directory). Default
     * `$TAU_HOME/projects/<project-key>/`, outside the workspace.
     */
    dir: z.string().min(1).optional(),
    /** When records reach the disk: `turn` (one sync per turn, overlapped), `record`, `off`. */
    durability: z.enum(['turn', 'record', 'off']).optional(),
    /** The old name: `true` is durability `record`, `false` is `off`. */
    fsync: z.boolean().optional(),
    compaction: z
      .strictObject({
        /** Compact automatically (past the threshold, and on a context-length error). */
        auto: z.boolean().default(true),
        /** Compact before a model call when the session's tokens pass this share of the window. */
        threshold: z.number().gt(0).max(1).default(0.8),
        /** Tool results of this many latest tool turns are never cleared. */
        keepToolResults: z.number().int().min(0).default(3),
        /** This many latest model turns are kept verbatim by the summary. */
        keepTurns: z.number().int().min(1).default(3),
      })
      .prefault({}),
  })
  .superRefine((config, check) => {
    if (config.fsync === undefined || config.durability === undefined) return
    if (durabilityOf(config) !== (config.fsync ? 'record' : 'off')) {
      check.addIssue({
        code: 'custom',
        path: ['fsync'],
        message: `fsync is the old name of durability (fsync: true is durability 'record', false is 'off'), and the two disagree here; set only durability`,
      })
    }
  })

/** The durability the config asks for: `durability`, else the old `fsync`, else `turn`. */
export function durabilityOf(config: { durability?: Durability; fsync?: boolean }): Durability {
  if (config.durability !== undefined) return config.durability
  if (config.fsync !== undefined) return config.fsync ? 'record' : 'off'
  return 'turn'
}

export type SessionConfig = z.infer<typeof sessionConfig>
