/**
 * `tau-agent/plugins`: the built-in plugins, each by its camelCase name (`tools`, `providerOllama`,
 * ...) and all of them by their plugin names in `builtinPlugins`, for presets, configs and test
 * kernels that pick their own set.
 */
import type { TauPlugin } from '../kernel/index.js'
import acp from '../plugins/acp/index.js'
import agent from '../plugins/agent/index.js'
import commandHooks from '../plugins/command-hooks/index.js'
import durableDbos from '../plugins/durable-dbos/index.js'
import headless from '../plugins/headless/index.js'
import mcp from '../plugins/mcp/index.js'
import memory from '../plugins/memory/index.js'
import orchestrate from '../plugins/orchestrate/index.js'
import permissions from '../plugins/permissions/index.js'
import plan from '../plugins/plan/index.js'
import providerAnthropic from '../plugins/provider-anthropic/index.js'
import providerLocal from '../plugins/provider-local/index.js'
import providerOllama from '../plugins/provider-ollama/index.js'
import providerOpenai from '../plugins/provider-openai/index.js'
import providerScripted from '../plugins/provider-scripted/index.js'
import providers from '../plugins/providers/index.js'
import sandbox from '../plugins/sandbox/index.js'
import scaffold from '../plugins/scaffold/index.js'
import serve from '../plugins/serve/index.js'
import session from '../plugins/session/index.js'
import sessionController from '../plugins/session-controller/index.js'
import sessionPostgres from '../plugins/session-postgres/index.js'
import skills from '../plugins/skills/index.js'
import slashCommands from '../plugins/slash-commands/index.js'
import subagents from '../plugins/subagents/index.js'
import telemetry from '../plugins/telemetry/index.js'
import terminal from '../plugins/terminal/index.js'
import tools from '../plugins/tools/index.js'
import trust from '../plugins/trust/index.js'

export {
  acp,
  agent,
  commandHooks,
  durableDbos,
  headless,
  mcp,
  memory,
  orchestrate,
  permissions,
  plan,
  providerAnthropic,
  providerLocal,
  providerOllama,
  providerOpenai,
  providerScripted,
  providers,
  sandbox,
  scaffold,
  serve,
  session,
  sessionController,
  sessionPostgres,
  skills,
  slashCommands,
  subagents,
  telemetry,
  terminal,
  tools,
  trust,
}

/** Every built-in plugin by its name (`provider-ollama`, ...). */
export const builtinPlugins: Readonly<Record<string, TauPlugin>> = Object.freeze({
  acp,
  agent,
  'command-hooks': commandHooks,
  'durable-dbos': durableDbos,
  headless,
  mcp,
  memory,
  permissions,
  plan,
  'provider-anthropic': providerAnthropic,
  'provider-local': providerLocal,
  'provider-ollama': providerOllama,
  'provider-openai': providerOpenai,
  'provider-scripted': providerScripted,
  providers,
  sandbox,
  scaffold,
  serve,
  session,
  'session-controller': sessionController,
  'session-postgres': sessionPostgres,
  skills,
  'slash-commands': slashCommands,
  subagents,
  orchestrate,
  telemetry,
  terminal,
  tools,
  trust,
})
