/**
 * A sandboxed process of a tool call asks for a host the sandbox's allowlist does not name
 * (plugins/sandbox/network-proxy.ts). That widens the sandbox, so it is the user's decision,
 * through the same flow as a tool call: `Network(domain:...)` rules (deny > ask > allow, then the
 * mode), then the session's askPermission, asked in turn with its other questions. Nobody to ask
 * (headless) is a refusal; "allow always" keeps the rule in .tau/settings.local.json. Every
 * decision is logged.
 */
import type { Logger } from '../../kernel/index.js'
import type { Permissions } from '../permissions/index.js'
import type { NetworkGate, NetworkVerdict } from '../sandbox/index.js'
import type { AskPermission, PermissionAnswer } from './runtime.js'

export interface NetworkAskHost {
  readonly sessionId: string
  readonly permissions: Permissions | undefined
  readonly askPermission: AskPermission | undefined
  readonly logger: Logger
  queueAsk<T>(fn: () => Promise<T>): Promise<T>
}

/** The gate for one tool call's processes. */
export function networkGate(
  host: NetworkAskHost,
  call: { readonly id: string; readonly name: string },
  signal: AbortSignal,
  parentToolCallId?: string,
): NetworkGate {
  return async (request): Promise<NetworkVerdict> => {
    const rule = `Network(domain:${request.host})`
    const decided = (verdict: NetworkVerdict): NetworkVerdict => {
      host.logger.info(
        `sandbox network ${verdict.allowed ? 'allowed' : 'refused'}: ${request.host}:${request.port}`,
        {
          toolCallId: call.id,
          reason: verdict.reason,
        },
      )
      return verdict
    }
    const decision = host.permissions?.decideNetwork?.(request.host)
    if (decision?.behavior === 'allow' || decision?.behavior === 'deny') {
      return decided({ allowed: decision.behavior === 'allow', reason: decision.reason })
    }
    const reason =
      decision?.reason ??
      `${request.host} is not in sandbox.network.allowedDomains and no permission rule covers it`
    const ask = host.askPermission
    if (!ask) {
      return decided({
        allowed: false,
        reason: `${reason}; this run is non-interactive, so nobody can allow it (a ${rule} allow rule or sandbox.network.allowedDomains would)`,
      })
    }
    if (signal.aborted) return decided({ allowed: false, reason: 'the call was cancelled' })
    let answer: PermissionAnswer
    try {
      answer = await host.queueAsk(() =>
        ask({
          sessionId: host.sessionId,
          toolCallId: call.id,
          toolName: 'Network',
          input: { host: request.host, port: request.port, via: request.via, tool: call.name },
          reason: `${call.name} wants to reach ${request.host}:${request.port} from the sandbox: ${reason}`,
          suggestedRule: rule,
          signal,
          ...(parentToolCallId === undefined ? {} : { parentToolCallId }),
        }),
      )
    } catch (error) {
      return decided({
        allowed: false,
        reason: `the question failed: ${error instanceof Error ? error.message : String(error)}`,
      })
    }
    const behavior = typeof answer === 'string' ? answer : answer?.behavior
    if (behavior === 'allow-always') {
      const keep = (typeof answer === 'object' && answer.rule) || rule
      await host.permissions
        ?.addRule(keep, 'allow', { persist: 'local' })
        .catch((error: unknown) => host.logger.warn(`could not keep ${keep}: ${String(error)}`))
      return decided({ allowed: true, reason: `the user allowed it always (${keep})` })
    }
    if (behavior === 'allow') return decided({ allowed: true, reason: 'the user allowed it' })
    const why = typeof answer === 'object' && answer?.reason ? answer.reason : 'the user denied it'
    return decided({ allowed: false, reason: why })
  }
}
