// The conformance suite's client, run for one scenario: `runScenario({ url, scenario, context,
// write })` drives tau's own MCP client — the compiled `mcp` plugin in a kernel, exactly as `tau`
// runs it — against the scenario's server: connect (OAuth through tau's provider, store and
// loopback callback when the server asks), then call every tool the server lists. The "user" of an
// authorization is an automatic user agent: it opens the authorization URL and follows its
// redirect to tau's callback, as a browser would. It resolves to the client's exit code: 0 when
// the server connected and every tool call succeeded. Each call has its own kernel (its own
// temporary TAU_HOME, OAuth store and callback), so calls can run at once in one process:
// tau-client-host.mjs serves the runner's clients (tau-client.mjs) this way.
import { createTestKernel } from '../../../../dist/kernel/testing/index.js'
import { sessionInteraction } from '../../../../dist/plugins/agent/index.js'
import mcp, { mcpServersRef } from '../../../../dist/plugins/mcp/index.js'
import sandbox from '../../../../dist/plugins/sandbox/index.js'
import tools, { createToolState, toolRegistryRef } from '../../../../dist/plugins/tools/index.js'

const CIMD_URL = 'https://conformance-test.local/client-metadata.json'

/** The `oauth` settings a scenario gives the client (pre-registered or machine credentials). */
function oauthFor(name, context) {
  if (name === 'auth/basic-cimd') return { clientMetadataUrl: CIMD_URL }
  if (name === 'auth/pre-registration')
    return { clientId: context.client_id, clientSecret: context.client_secret }
  if (name === 'auth/client-credentials-basic')
    return { grant: 'client_credentials', clientId: context.client_id, clientSecret: context.client_secret }
  if (name === 'auth/client-credentials-jwt')
    return {
      grant: 'client_credentials',
      clientId: context.client_id,
      privateKey: context.private_key_pem,
      ...(context.signing_algorithm ? { algorithm: context.signing_algorithm } : {}),
    }
  return undefined
}

/** The browser: opens the authorization URL, follows the redirect to tau's loopback callback. */
async function userAgent({ url: authorizationUrl }) {
  const answer = await fetch(authorizationUrl, { redirect: 'manual' })
  const location = answer.headers.get('location')
  if (!location) throw new Error(`the authorization endpoint did not redirect (HTTP ${answer.status})`)
  await (await fetch(location)).text()
}

/** Arguments from a tool's input schema: a number, a string, a boolean per declared property. */
function argumentsFor(schema) {
  const args = {}
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const type = Array.isArray(property.type) ? property.type[0] : property.type
    args[name] = type === 'number' || type === 'integer' ? 2 : type === 'boolean' ? true : 'conformance'
  }
  return args
}

/** Waits for a server status other than `connecting` (a reconnect after a login). */
async function settled(servers, name, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs
  for (;;) {
    const info = servers.get(name)
    if (info?.status !== 'connecting' || Date.now() > until) return info
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Runs the client for one scenario. `context` is MCP_CONFORMANCE_CONTEXT parsed (or {}); `write`
 * gets what the client reports (its stderr when it is a process of its own).
 */
export async function runScenario({ url, scenario, context = {}, write }) {
  // The user, as an interactive frontend is: logins and step-ups go through the automatic user
  // agent, an elicitation is accepted with no fields filled (the schema's defaults fill them). A
  // login at connect time is `tau mcp login`'s path (servers.login); one asked during a call goes
  // to the session whose call it is, through the agent's link in the tool context.
  const user = {
    authorize: userAgent,
    elicit: async () => ({ action: 'accept', content: {} }),
  }
  const interaction = sessionInteraction(user, (ask) => ask())
  const agentLink = { emit() {}, askPermission: undefined, interaction }
  const oauth = oauthFor(scenario, context)
  const kernel = await createTestKernel({
    plugins: [sandbox, tools, mcp],
    config: {
      mcpServers: {
        target: {
          type: 'http',
          url,
          retry: { baseDelayMs: 60_000 },
          // A hang limit under the runner's 90 s: clients of a suite start together on a busy machine.
          timeoutMs: 60_000,
          ...(oauth ? { oauth } : {}),
        },
      },
    },
    start: false,
  })
  let code = 0
  try {
    await kernel.start()
    const servers = kernel.resolve(mcpServersRef)
    let info = servers.get('target')
    if (info?.status === 'needs-auth') {
      const login = await servers.login('target', userAgent)
      write(`tau: logged in (authorized: ${login.authorized})\n`)
      info = await settled(servers, 'target')
    }
    write(`tau: server ${info?.status}${info?.error ? `: ${info.error}` : ''}\n`)
    if (info?.status !== 'connected') code = 1
    const registry = kernel.resolve(toolRegistryRef)
    for (const name of info?.tools ?? []) {
      const tool = registry.get(name)
      const output = await tool
        .execute(argumentsFor(tool.inputSchema), {
          signal: new AbortController().signal,
          env: {},
          sessionId: 'conformance',
          callId: name,
          state: createToolState(),
          progress: () => undefined,
          logger: {
            debug() {},
            info() {},
            warn() {},
            error() {},
            child() {
              return this
            },
          },
          model: { vision: true },
          agent: agentLink,
        })
        .then(
          (out) => out,
          (error) => ({ content: [{ type: 'text', text: String(error?.message ?? error) }], isError: true }),
        )
      const text = (output.content ?? []).map((part) => part.text ?? `[${part.type}]`).join(' ')
      write(`tau: ${name} -> ${output.isError ? 'error: ' : ''}${text}\n`)
      if (output.isError) code = 1
    }
  } catch (error) {
    write(`tau: ${error?.stack ?? error}\n`)
    code = 1
  } finally {
    await kernel.stop().catch(() => undefined)
    for (const record of kernel.logs) write(`[${record.level}] ${record.message}\n`)
  }
  return code
}
