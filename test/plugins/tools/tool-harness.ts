/** Runs a tool the way the agent does: validate the input against its schema, execute, normalize. */
import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../../kernel/index.js'
import type { Environment } from '../../../plugins/sandbox/environment.js'
import { LocalEnvironment } from '../../../plugins/sandbox/local.js'
import { toOutput } from '../../../plugins/tools/registry.js'
import type { Tool, ToolContext, ToolOutput, ToolState } from '../../../plugins/tools/tool.js'
import { createToolState } from '../../../plugins/tools/tool-state.js'

export interface Harness {
  readonly dir: string
  readonly env: Environment
  readonly state: ToolState
  readonly progress: Array<{ message: string; data?: unknown }>
  run<I>(tool: Tool<I>, input: unknown, options?: { signal?: AbortSignal; vision?: boolean }): Promise<Result>
  cleanup(): Promise<void>
}

export interface Result extends ToolOutput {
  /** All text parts joined. */
  readonly text: string
}

export async function createHarness(options: { env?: (dir: string) => Environment } = {}): Promise<Harness> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'tau-tools-')))
  const env = options.env?.(dir) ?? new LocalEnvironment({ cwd: dir })
  const state = createToolState()
  const progress: Harness['progress'] = []
  const logger = createLogger('tools-test', { level: 'silent' })
  return {
    dir,
    env,
    state,
    progress,
    async run(tool, input, runOptions = {}) {
      const validated = await tool.input['~standard'].validate(input)
      if (validated.issues) {
        throw new Error(`invalid input: ${validated.issues.map((issue) => issue.message).join('; ')}`)
      }
      const ctx: ToolContext = {
        signal: runOptions.signal ?? new AbortController().signal,
        env,
        sessionId: 'test-session',
        callId: 'call-1',
        state,
        progress: (message, data) => progress.push({ message, data }),
        logger,
        model: { vision: runOptions.vision ?? false },
      }
      const output = toOutput(await tool.execute(validated.value, ctx))
      const text = output.content
        .filter((part) => part.type === 'text')
        .map((part) => (part as { text: string }).text)
        .join('\n')
      return { ...output, text }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

/** An environment that only delegates: not a LocalEnvironment, so tools take their generic paths. */
export function delegatingEnvironment(inner: Environment): Environment {
  return {
    kind: inner.kind,
    // Files not "on the host" as far as the tools know: they take their generic paths.
    capabilities: { ...inner.capabilities, filesOnHost: false },
    roots: inner.roots,
    cwd: inner.cwd,
    resolvePath: (path) => inner.resolvePath(path),
    contains: (path) => inner.contains(path),
    stat: (path) => inner.stat(path),
    readFile: (path) => inner.readFile(path),
    writeFile: (path, data) => inner.writeFile(path, data),
    readdir: (path) => inner.readdir(path),
    mkdir: (path) => inner.mkdir(path),
    remove: (path) => inner.remove(path),
    exec: (command, options) => inner.exec(command, options),
    spawn: (command, options) => inner.spawn(command, options),
    processEnv: () => inner.processEnv(),
    dispose: () => inner.dispose(),
  }
}
