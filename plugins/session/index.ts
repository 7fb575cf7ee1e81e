/**
 * `session`: every agent session's log persisted as an append-only transcript (JSONL files under
 * `$TAU_HOME/projects/<project-key>/` by default; the store is the `session.store` service),
 * written before the loop goes on; one writer per session (a lease); resume and fork of stored
 * sessions (`session.service`, used by `tau start --continue / --resume ID / --fork-session`),
 * answering tool calls a crash left in flight; token accounting; `tau sessions`.
 */
import { createHash } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { cliCommandsRef, definePlugin } from '../../kernel/index.js'
import { type AgentSession, agentHooksRef, agentRuntimeRef } from '../agent/index.js'
import { providerRegistryRef } from '../providers/index.js'
import { toolRegistryRef } from '../tools/index.js'
import { sessionsCommand } from './commands.js'
import { setupCompaction } from './compactor.js'
import { durabilityOf, sessionConfig } from './config.js'
import { JsonlTranscriptStore } from './jsonl-store.js'
import { createRecorder, tapRecording } from './recorder.js'
import { createResume } from './resume.js'
import { type SessionService, sessionServiceRef } from './service.js'
import { transcriptStoreRef } from './transcript.js'

export { formatSessions } from './commands.js'
export * from './compaction.js'
export { durabilityOf, type SessionConfig, sessionConfig } from './config.js'
export { SESSION_ERRORS } from './errors.js'
export {
  type Durability,
  type JsonlStoreOptions,
  JsonlTranscriptStore,
  LEASE_TTL_MS,
  parseTranscript,
} from './jsonl-store.js'
export {
  type CompactionResult,
  type ResumeOptions,
  type ResumePlan,
  type SessionService,
  sessionServiceRef,
} from './service.js'
export { settingsForLog, settingsFromLog } from './settings-log.js'
export {
  CHARS_PER_TOKEN,
  estimateMessage,
  estimateMessages,
  estimateText,
  type TokenCount,
} from './tokens.js'
export * from './transcript.js'

/**
 * The folder name of a project under `$TAU_HOME/projects/`: its absolute path with every
 * character other than a letter or digit made `-` (as Claude Code names `~/.claude/projects/`),
 * cut with a hash when it is long.
 */
export function projectKey(projectDir: string): string {
  const key = projectDir.replace(/[^A-Za-z0-9]/g, '-')
  if (key.length <= 160) return key
  return `${key.slice(0, 140)}-${createHash('sha256').update(projectDir).digest('hex').slice(0, 16)}`
}

/** `--name NAME` / `--name=NAME` among `tau start`'s arguments (read leniently: the rest are the frontend's). */
function nameOption(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--') return undefined
    const value = arg === '--name' ? argv[i + 1] : arg.startsWith('--name=') ? arg.slice(7) : undefined
    if (value !== undefined && value.trim() !== '') return value.trim()
  }
  return undefined
}

export default definePlugin({
  name: 'session',
  description:
    'Session logs (JSONL under $TAU_HOME/projects/), one writer per session, resume after a crash, fork, token accounting, `tau sessions`',
  dependsOn: ['agent'],
  // A store plugin set up first provides session.store instead of the JSONL files.
  optionalDependsOn: ['session-postgres'],
  config: sessionConfig,
  setup(ctx) {
    const runtime = ctx.resolve(agentRuntimeRef)
    const hooks = ctx.hooksOf(agentHooksRef)
    const providers = ctx.resolve(providerRegistryRef)
    const toolRegistry = ctx.tryResolve(toolRegistryRef)
    const configured = ctx.config.dir
    const dir =
      configured === undefined
        ? join(ctx.paths.tauHome, 'projects', projectKey(ctx.paths.projectDir))
        : isAbsolute(configured)
          ? configured
          : join(ctx.paths.projectDir, configured)
    // A plugin set up earlier may provide another store (SQLite, PostgreSQL); else the JSONL files.
    const provided = ctx.tryResolve(transcriptStoreRef)
    const jsonl = provided
      ? undefined
      : new JsonlTranscriptStore(dir, {
          durability: durabilityOf(ctx.config),
          // Transcripts of tau before 0.2 lived in the workspace: moved out once, at first use.
          ...(configured === undefined
            ? {
                legacyDir: join(ctx.paths.projectDir, '.tau', 'sessions'),
                onMoved: (notice: string) => ctx.logger.warn(notice),
              }
            : {}),
        })
    const store = provided ?? jsonl!
    if (!provided) ctx.provide(transcriptStoreRef, store)
    // `tau start --no-session-persistence` (Claude Code's flag): this run writes no transcript.
    const persist = ctx.config.persist && !ctx.argv.includes('--no-session-persistence')
    // `tau start --name NAME`: the title of the run's session (a subagent's stays its prompt).
    const name = nameOption(ctx.argv)

    const sessionOf = (id: string): AgentSession | undefined => runtime.sessions().find((s) => s.id === id)
    const recorder = createRecorder({ store, sessionOf, cwd: ctx.paths.cwd, name })
    tapRecording(hooks, recorder, { store, sessionOf, persist })
    const resume = createResume({ store, recorder, persist, dir })
    const { tokens, compact } = setupCompaction({
      hooks,
      recorder,
      sessionOf,
      providers,
      toolRegistry,
      config: ctx.config.compaction,
      logger: ctx.logger,
      persist,
    })

    /** The JSONL store's file of a session; none when another store keeps them, or nothing is written. */
    function transcriptPath(sessionId: string): string | undefined {
      if (!persist || !jsonl) return undefined
      try {
        return jsonl.location(sessionId)
      } catch {
        return undefined // not an id a file can be named after
      }
    }

    const service: SessionService = {
      store,
      list: () => store.list(),
      resume,
      tokens,
      compact,
      transcriptPath,
    }
    ctx.provide(sessionServiceRef, service)

    ctx.provide(cliCommandsRef, sessionsCommand(store))

    return async () => {
      recorder.tracked.clear()
      recorder.originals.clear()
      await jsonl?.closeAll()
    }
  },
})
