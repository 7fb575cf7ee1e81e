/**
 * tau as a library: `createAgent()` assembles a kernel from a preset (default: the built-in
 * `coding`) plus your plugins and config, starts it, and gives you the agent's event stream.
 *
 *   const agent = await createAgent({ config: { model: 'ollama:qwen3:8b' } })
 *   for await (const event of agent.run('Fix the failing test')) {
 *     if (event.type === 'text-delta') process.stdout.write(event.text)
 *   }
 *   await agent.close()
 */
import {
  assemble,
  Kernel,
  type LogLevel,
  type LogSink,
  type PluginEntry,
  type Preset,
  resolvePaths,
  type Session,
  setPackageModules,
  type TauConfig,
} from '../kernel/index.js'
import agentPlugin, {
  type AgentEvent,
  type AgentSession,
  type AgentSessionOptions,
  agentRuntimeRef,
  type RunOptions,
} from '../plugins/agent/index.js'
import { builtinPresets } from '../presets/index.js'
import { packageModules } from './package-modules.js'

export interface CreateAgentOptions {
  /** Config as in tau.config.ts: `model`, `agent`, `providers`, `permissions`, ... */
  readonly config?: TauConfig
  /** Plugins added to the preset's; one with a preset plugin's name replaces it. */
  readonly plugins?: readonly PluginEntry[]
  /** A built-in preset's name or a definePreset() value (default: `coding`). */
  readonly preset?: string | Preset
  /** Working directory of the kernel and the default session (default: process.cwd()). */
  readonly cwd?: string
  /** Default: $TAU_HOME (of `env`), else ~/.tau. */
  readonly tauHome?: string
  /**
   * The environment this agent's kernel reads (PluginContext.env): provider keys and base URLs,
   * TAU_DATABASE_URL, TAU_TRUST, the variables tool, hook and MCP server processes pick from
   * (allowlisted), the settings files' `env` written over it. Default: process.env itself. A
   * given env is copied, so the agent's settings never change your object or another agent's.
   */
  readonly env?: NodeJS.ProcessEnv
  readonly logLevel?: LogLevel
  /** Where plugin log records go (default: stderr). */
  readonly logSink?: LogSink
  /** Defaults for every session this agent creates. */
  readonly session?: Omit<AgentSessionOptions, 'id' | 'scope' | 'conversation'>
}

export interface Agent {
  readonly kernel: Kernel
  /** Runs a prompt in the agent's default session (its conversation goes on across runs). */
  run(prompt: string, options?: RunOptions): AsyncIterable<AgentEvent>
  /** A new session of its own: its own conversation, permissions, working directory. */
  session(options?: AgentSessionOptions): AgentSession
  /** Aborts what runs, ends the sessions, stops the kernel. Idempotent. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function createAgent(options: CreateAgentOptions = {}): Promise<Agent> {
  const kernel = await startKernel(options)
  const runtime = kernel.resolve(agentRuntimeRef)
  const scopes: Session[] = []
  let main: AgentSession | undefined
  const session = (sessionOptions: AgentSessionOptions = {}): AgentSession => {
    const merged = { ...options.session, ...sessionOptions }
    // The kernel session that holds this agent session's environment and permissions.
    const scope =
      sessionOptions.scope ??
      kernel.createSession({
        ...(merged.id ? { id: merged.id } : {}),
        ...(merged.cwd ? { cwd: merged.cwd } : {}),
      })
    if (!sessionOptions.scope) scopes.push(scope)
    try {
      return runtime.createSession({ ...merged, scope })
    } catch (error) {
      void scope.dispose()
      throw error
    }
  }
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      try {
        await Promise.all(runtime.sessions().map((s) => s.close('close')))
        await Promise.all(scopes.map((scope) => scope.dispose()))
      } finally {
        await kernel.stop()
      }
    })()
    return closing
  }
  return {
    kernel,
    run(prompt, runOptions) {
      main ??= session()
      return main.run(prompt, runOptions)
    },
    session,
    close,
    [Symbol.asyncDispose]: close,
  }
}

async function startKernel(options: CreateAgentOptions): Promise<Kernel> {
  const config = options.config ?? {}
  const cwd = options.cwd ?? process.cwd()
  const env = options.env === undefined ? process.env : { ...options.env }
  const { tauHome } = resolvePaths({ cwd, ...(options.tauHome ? { tauHome: options.tauHome } : {}) }, env)
  // Plugin modules named by path import this very package ('tau-agent', 'tau'), not a copy.
  setPackageModules(packageModules)
  const assembly = await assemble({
    config: {
      ...config,
      preset: options.preset ?? config.preset ?? 'coding',
      plugins: [...(config.plugins ?? []), ...(options.plugins ?? [])],
    },
    cwd,
    tauHome,
    presets: builtinPresets,
    defaultPreset: 'coding',
  })
  // The agent is this module's own plugin: present whatever the preset holds.
  const plugins = assembly.plugins.some((plugin) => plugin.name === 'agent')
    ? assembly.plugins
    : [...assembly.plugins, agentPlugin]
  const kernel = new Kernel({
    plugins,
    config: assembly.config,
    paths: { cwd, tauHome },
    env,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.logSink ? { logSink: options.logSink } : {}),
  })
  await kernel.start()
  return kernel
}
