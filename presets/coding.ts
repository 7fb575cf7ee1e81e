import { definePreset } from '../kernel/index.js'
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

/**
 * The coding agent: model providers (Ollama, OpenAI / Azure / compatible servers, Anthropic, local
 * GGUF models in-process, and the scripted model for demos and tests), the local sandbox, the built-in tools, workspace trust, permissions,
 * MCP servers' tools, the agent loop, memory files (TAU.md, AGENTS.md, CLAUDE.md) and Agent
 * Skills, session transcripts with resume (in PostgreSQL when a database is configured), command hooks, plan mode's ExitPlanMode, subagents (the Task tool), workflows (`tau workflow`), slash
 * commands, OpenTelemetry traces (when an OTLP endpoint is set), the interactive terminal, the headless frontend (`tau start -p`), `tau acp` for editors, and durable runs on DBOS (`tau worker`, `tau submit`, `tau runs`; when a database is configured).
 */
export default definePreset({
  name: 'coding',
  description: 'The coding agent (the default preset).',
  extends: 'minimal',
  plugins: [
    providers,
    providerOllama,
    providerOpenai,
    providerAnthropic,
    providerLocal,
    providerScripted,
    sandbox,
    tools,
    trust,
    permissions,
    mcp,
    agent,
    sessionPostgres,
    session,
    memory,
    skills,
    commandHooks,
    plan,
    subagents,
    orchestrate,
    slashCommands,
    sessionController,
    terminal,
    headless,
    acp,
    serve,
    scaffold,
    telemetry,
    durableDbos,
  ],
})
