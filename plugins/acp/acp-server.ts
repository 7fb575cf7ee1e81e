/**
 * `tau acp`: an Agent Client Protocol agent on stdin/stdout, built on the SDK's agent side. It
 * advertises only what works (loading sessions needs the session plugin; prompts take text and
 * embedded files, not images or audio), keeps one AcpSession per ACP session, and answers each
 * request from it. stdout carries only the protocol: everything else goes through the logger.
 *
 * The SDK is imported here, and this module only from the command's run(): nothing of it is
 * loaded at tau's start.
 */
import { isAbsolute } from 'node:path'
import { Readable, Writable } from 'node:stream'
import type { AgentContext, ClientCapabilities, McpServer } from '@agentclientprotocol/sdk'
import { isTauError, type Logger, messageOf, TauError } from '../../kernel/index.js'
import type { AgentSessionOptions } from '../agent/index.js'
import type { SessionService } from '../session/index.js'
import type { SessionControllers } from '../session-controller/index.js'
import { AcpSession, TurnFailed } from './acp-session.js'
import type { AcpConfig } from './config.js'
import { editorMcpSettings } from './editor-mcp.js'
import type { ACP_ERRORS } from './errors.js'
import { replayUpdates } from './replay.js'

export interface AcpServerOptions {
  readonly controllers: SessionControllers
  readonly sessions: SessionService | undefined
  readonly config: AcpConfig
  readonly logger: Logger
  readonly version: string
  readonly stdin: NodeJS.ReadableStream
  readonly stdout: NodeJS.WritableStream
  /** Aborted on SIGINT/SIGTERM: the connection closes, the sessions close. */
  readonly signal: AbortSignal
  /** The mcp plugin is loaded: the editor's MCP servers are connected for their session. */
  readonly mcp: boolean
}

type Sdk = typeof import('@agentclientprotocol/sdk')

/** Serves one client until it closes stdin (or a signal); resolves with the exit code. */
export async function serveAcp(options: AcpServerOptions): Promise<number> {
  const acp: Sdk = await import('@agentclientprotocol/sdk')
  const { logger } = options
  const open = new Map<string, AcpSession>()
  let capabilities: ClientCapabilities = {}

  /** A tau error (a bad model, a bad rule, a session not found) as the JSON-RPC error it answers with. */
  const asRequestError = (error: unknown, rpcCode = -32603): unknown => {
    if (error instanceof acp.RequestError || !isTauError(error)) return error
    return new acp.RequestError(rpcCode, `${error.message} (${error.hint})`, {
      code: error.code,
      hint: error.hint,
    })
  }
  const fail = (code: keyof typeof ACP_ERRORS, message: string, rpcCode = -32602): unknown =>
    asRequestError(new TauError(code, message, { plugin: 'acp' }), rpcCode)
  const sessionOf = (id: string): AcpSession => {
    const session = open.get(id)
    if (!session)
      throw fail(
        'TAU_ACP_SESSION_NOT_FOUND',
        `no open session '${id}' in this tau acp process (open it with session/new or session/load)`,
        -32002,
      )
    return session
  }
  const checkCwd = (cwd: string) => {
    if (!isAbsolute(cwd)) throw fail('TAU_ACP_BAD_REQUEST', `cwd must be an absolute path, not '${cwd}'`)
  }
  const start = (sessionOptions: AgentSessionOptions, client: AgentContext): AcpSession => {
    const session = new AcpSession({
      controllers: options.controllers,
      client,
      capabilities,
      config: options.config,
      logger,
      sessionOptions,
    })
    open.set(session.id, session)
    return session
  }
  /** The editor's MCP servers as the session's settings (without the mcp plugin: a warning, none). */
  const mcpSettings = (servers: readonly McpServer[], cwd: string): Pick<AgentSessionOptions, 'settings'> => {
    if (servers.length === 0) return {}
    if (!options.mcp) {
      logger.warn(
        `the editor's MCP servers (${servers.map((s) => s.name).join(', ')}) are not connected: the mcp plugin is not loaded`,
      )
      return {}
    }
    return { settings: { mcpServers: editorMcpSettings(servers, cwd) } }
  }

  const app = acp
    .agent({ name: 'tau' })
    .onRequest(acp.methods.agent.initialize, ({ params }) => {
      capabilities = params.clientCapabilities ?? {}
      return {
        protocolVersion: acp.PROTOCOL_VERSION,
        agentCapabilities: {
          loadSession: options.sessions !== undefined,
          promptCapabilities: { image: false, audio: false, embeddedContext: true },
          mcpCapabilities: { http: options.mcp, sse: options.mcp },
        },
        authMethods: [],
        agentInfo: { name: 'tau', title: 'tau', version: options.version },
      }
    })
    .onRequest(acp.methods.agent.session.new, async ({ params, client }) => {
      checkCwd(params.cwd)
      try {
        const session = start({ cwd: params.cwd, ...mcpSettings(params.mcpServers, params.cwd) }, client)
        // After the response: the editor knows the session id by then.
        setImmediate(() => void session.publishCommands().catch((e: unknown) => logger.warn(messageOf(e))))
        const modes = session.modes()
        return { sessionId: session.id, ...(modes ? { modes } : {}) }
      } catch (error) {
        throw asRequestError(error)
      }
    })
    .onRequest(acp.methods.agent.session.load, async ({ params, client }) => {
      const sessions = options.sessions
      if (!sessions)
        throw fail('TAU_ACP_BAD_REQUEST', 'session/load needs the session plugin, which is not loaded')
      checkCwd(params.cwd)
      try {
        await open.get(params.sessionId)?.close()
        open.delete(params.sessionId)
        const plan = await sessions.resume(params.sessionId)
        for (const warning of plan.warnings) logger.warn(warning)
        const { records } = await sessions.store.read(params.sessionId)
        // The session's own settings from its log (sandbox, servers); the editor's servers, when
        // it passes any, replace the logged ones (it passes them with their secrets again).
        const editor = mcpSettings(params.mcpServers, params.cwd).settings
        const settings = { ...plan.options.settings, ...editor }
        const session = start(
          {
            ...plan.options,
            cwd: params.cwd,
            ...(Object.keys(settings).length > 0 ? { settings } : {}),
          },
          client,
        )
        for (const update of replayUpdates(records, params.cwd)) void session.send(update)
        await session.send({
          sessionUpdate: 'current_mode_update',
          currentModeId: session.modes()?.currentModeId ?? 'default',
        })
        setImmediate(() => void session.publishCommands().catch((e: unknown) => logger.warn(messageOf(e))))
        const modes = session.modes()
        return modes ? { modes } : {}
      } catch (error) {
        throw asRequestError(error)
      }
    })
    .onRequest(acp.methods.agent.session.prompt, async ({ params }) => {
      const session = sessionOf(params.sessionId)
      if (session.prompting)
        throw fail(
          'TAU_ACP_BAD_REQUEST',
          'a prompt is already running in this session: wait for it, or cancel it',
        )
      try {
        return await session.prompt(params.prompt)
      } catch (error) {
        if (error instanceof TurnFailed) throw new acp.RequestError(-32603, error.message)
        throw asRequestError(error)
      }
    })
    .onRequest(acp.methods.agent.session.setMode, ({ params }) => {
      const session = sessionOf(params.sessionId)
      if (!AcpSession.knowsMode(params.modeId))
        throw fail(
          'TAU_ACP_BAD_REQUEST',
          `unknown mode '${params.modeId}' (modes: default, acceptEdits, plan)`,
        )
      if (!session.modes())
        throw fail('TAU_ACP_BAD_REQUEST', 'modes need the permissions plugin, which is not loaded')
      session.setMode(params.modeId as 'default' | 'acceptEdits' | 'plan')
      return {}
    })
    .onNotification(acp.methods.agent.session.cancel, ({ params }) => {
      open.get(params.sessionId)?.cancel()
    })

  const stream = acp.ndJsonStream(
    Writable.toWeb(options.stdout as Writable) as WritableStream<Uint8Array>,
    Readable.toWeb(options.stdin as Readable) as ReadableStream<Uint8Array>,
  )
  const connection = app.connect(stream)
  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve()
    options.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  await Promise.race([connection.closed, stopped])
  for (const session of open.values()) session.cancel()
  await Promise.allSettled([...open.values()].map((session) => session.close()))
  connection.close()
  return 0
}
