/**
 * What one MCP server asks of tau as a client, once its connection is set up: roots, progress of
 * a call, log messages, elicitation and sampling (client-features.ts has the mapping of each).
 * A question goes to the session whose call is in flight (routing.ts), so this keeps the calls
 * in flight, by the progress token tau gave each.
 */
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from '../../kernel/index.js'
import { NOBODY_TO_ASK } from '../agent/index.js'
import { ProgressRoutes } from './call-signal.js'
import {
  applyFormDefaults,
  clientCapabilities,
  logServerMessage,
  type Root,
  type Sampler,
  type SamplingDecision,
  samplingConfirmation,
  toElicitationRequest,
  toElicitResult,
} from './client-features.js'
import type { ResolvedServerConfig } from './config.js'
import { messageOf } from './errors.js'
import type { Authorize } from './oauth.js'
import { askerOf, type CallRoute } from './routing.js'
import type { McpClient, McpSdk } from './sdk.js'

export interface ServerRequestsOptions {
  /** The server's name. */
  readonly name: string
  readonly config: ResolvedServerConfig
  readonly logger: Logger
  /** Answered to `roots/list`: the current workspace roots. */
  readonly roots?: () => readonly Root[]
  /** Answers `sampling/createMessage` for servers whose config has `sampling` on. */
  readonly sampler?: Sampler
  /** The model the sampler answers with (shown in the confirmation). */
  readonly samplingModel?: string
}

export class ServerRequests {
  /** The calls in flight (progress callback, session), by the progress token tau gave each. */
  readonly progress = new ProgressRoutes<CallRoute>()
  private readonly options: ServerRequestsOptions
  private readonly server: string
  private readonly log: Logger
  /** Sessions whose user answered allow-always to a sampling request of this server. */
  private readonly samplingAllowed = new Set<string>()

  constructor(options: ServerRequestsOptions) {
    this.options = options
    this.server = options.name
    this.log = options.logger
  }

  private get declaresSampling(): boolean {
    return this.options.config.sampling !== undefined && this.options.config.sampling !== false
  }

  private get declaresRoots(): boolean {
    return this.options.config.roots !== false
  }

  /** What the client declares at initialize. */
  capabilities(): ClientCapabilities {
    return clientCapabilities({ sampling: this.declaresSampling, roots: this.declaresRoots })
  }

  /** Answers the server's requests and notifications on `client`; `current` is false once its connection is stale. */
  install(client: McpClient, sdk: McpSdk, current: () => boolean): void {
    if (this.declaresRoots) {
      client.setRequestHandler(sdk.ListRootsRequestSchema, async () => ({
        roots: (this.options.roots?.() ?? []).map((root) => ({ ...root })),
      }))
    }
    // Progress of tools/call goes to the call that asked for it (tau's tokens, see the connection's call()).
    client.setNotificationHandler(sdk.ProgressNotificationSchema, (notification) => {
      const { progressToken, progress, total, message } = notification.params
      const route = this.progress.get(progressToken)
      if (!route) return
      route.progress(message ?? `${progress}${total === undefined ? '' : `/${total}`}`, {
        progress,
        ...(total === undefined ? {} : { total }),
      })
    })
    client.setNotificationHandler(sdk.LoggingMessageNotificationSchema, async (notification) => {
      if (current()) logServerMessage(this.log, this.server, notification.params)
    })
    client.setRequestHandler(sdk.ElicitRequestSchema, async (request, extra) => {
      const asked = toElicitationRequest(this.server, request.params)
      const asker = askerOf(this.server, this.progress.current)
      if ('refusal' in asker || !asker.interaction) {
        if ('refusal' in asker)
          this.log.info(`MCP server '${this.server}': elicitation declined: ${asker.refusal}`)
        return { action: 'decline' as const }
      }
      const answer = toElicitResult(await asker.interaction.elicit(asked, extra.signal))
      if (asked.mode === 'form' && answer.action === 'accept') {
        // Fields the user left out take the schema's defaults (SEP-1034); then the SDK checks
        // the answer's shape, not its content: it must match the schema.
        const content = applyFormDefaults(asked.requestedSchema, answer.content)
        const check = new sdk.AjvJsonSchemaValidator().getValidator(
          asked.requestedSchema as Parameters<
            InstanceType<typeof sdk.AjvJsonSchemaValidator>['getValidator']
          >[0],
        )(content)
        if (!check.valid) {
          throw new sdk.McpError(
            sdk.ErrorCode.InvalidParams,
            `the answer does not match the requested schema: ${check.errorMessage ?? 'invalid'}`,
          )
        }
        return { action: 'accept' as const, content: content as typeof answer.content }
      }
      return answer
    })
    if (this.declaresSampling) {
      // Declared only for servers whose config allows it; others get "method not found".
      client.setRequestHandler(sdk.CreateMessageRequestSchema, async (request, extra) => {
        const sampler = this.options.sampler
        if (!sampler) throw new sdk.McpError(sdk.ErrorCode.InvalidRequest, 'tau has no model to sample with')
        await this.confirmSampling(sdk, request.params, extra.signal)
        this.log.info(`MCP server '${this.server}' asks tau's model for a completion (sampling)`, {
          server: this.server,
        })
        try {
          return await sampler(this.server, request.params, extra.signal)
        } catch (error) {
          throw new sdk.McpError(sdk.ErrorCode.InternalError, messageOf(error))
        }
      })
    }
  }

  /** The login of the session whose call is in flight, when it can show one. */
  routedAuthorize(): Authorize | undefined {
    const asker = askerOf(this.server, this.progress.current)
    const interaction = 'refusal' in asker ? undefined : asker.interaction
    return interaction?.canAuthorize ? (request, signal) => interaction.authorize(request, signal) : undefined
  }

  /**
   * `sampling: true | 'ask'`: the user confirms each request through the frontend (headless:
   * denied, fail closed); `allow-always` stops asking for this server. `'allow'`: no question.
   * A refusal is the specification's user-rejection error, -1.
   */
  private async confirmSampling(
    sdk: McpSdk,
    params: Parameters<Sampler>[1],
    signal: AbortSignal,
  ): Promise<void> {
    if (this.options.config.sampling === 'allow') return
    const asker = askerOf(this.server, this.progress.current)
    if ('sessionId' in asker && this.samplingAllowed.has(asker.sessionId)) return
    const decision: SamplingDecision =
      'refusal' in asker
        ? { action: 'deny', reason: asker.refusal }
        : asker.interaction
          ? await asker.interaction.confirmSampling(
              samplingConfirmation(this.server, this.options.samplingModel ?? '', params),
              signal,
            )
          : { action: 'deny', reason: NOBODY_TO_ASK }
    if (decision.action === 'allow-always' && 'sessionId' in asker) this.samplingAllowed.add(asker.sessionId)
    if (decision.action === 'deny') {
      this.log.info(
        `MCP server '${this.server}': sampling request denied${decision.reason ? ` (${decision.reason})` : ''}`,
        {
          server: this.server,
        },
      )
      throw new sdk.McpError(
        -1,
        `the user declined the sampling request${decision.reason ? `: ${decision.reason}` : ''}`,
      )
    }
  }
}
